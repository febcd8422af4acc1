import OpenAI from 'openai';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { SseDecoder } from '../../upstream/sse-decoder.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { fakeStarter } from './dialect-test-kit.js';
import type { FakeUpstream } from './fake-upstream.js';
import type { DialectContext, FakeRequest } from './exchange.js';
import { FAKE_EMBEDDING_DIMENSIONS, openAiDialect } from './openai-dialect.js';
import { defaultBehaviour } from './script.js';

const start = fakeStarter('openai');

function post(url: string, body: unknown, headers: Record<string, string> = {}): ReturnType<typeof request> {
  return request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function sseEvents(body: AsyncIterable<Uint8Array>): Promise<SseEvent[]> {
  const decoder = new SseDecoder();
  const events: SseEvent[] = [];
  for await (const chunk of body) events.push(...decoder.push(chunk));
  return [...events, ...decoder.end()];
}

const chat = {
  model: 'gpt-test',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is the capital of France?' },
  ],
};
// Words of all contents (2 + 6) plus 3 per message.
const PROMPT_TOKENS = 8 + 2 * 3;
const REPLY = 'Hello from fake-openai. You said: What is the capital of France?';

describe('openai fake: chat completions', () => {
  it('answers a non-stream request in the chat.completion shape', async () => {
    const fake = await start();
    const res = await post(`${fake.baseUrl}/chat/completions`, chat);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['x-request-id']).toMatch(/^req_/);
    const body = (await res.body.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-test',
      choices: [
        { index: 0, message: { role: 'assistant', content: REPLY, refusal: null }, logprobs: null, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: 11, total_tokens: PROMPT_TOKENS + 11 },
    });
    expect(body['id']).toMatch(/^chatcmpl-/);
    expect(typeof body['created']).toBe('number');
  });

  it('streams role chunk, content pieces, finish chunk and [DONE]', async () => {
    const fake = await start({ behaviour: { chunks: 3, reply: 'one two three four' } });
    const res = await post(`${fake.baseUrl}/chat/completions`, { ...chat, stream: true });
    expect(res.headers['content-type']).toBe('text/event-stream');
    const events = await sseEvents(res.body);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(chunks).toHaveLength(5);
    expect(chunks.every((c) => c['object'] === 'chat.completion.chunk' && c['id'] === chunks[0]?.['id'])).toBe(true);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    expect(chunks[0]?.['choices']).toEqual([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    const deltas = chunks.slice(1, 4).map((c) => (c['choices'] as Array<{ delta: { content: string } }>)[0]?.delta.content);
    expect(deltas.join('')).toBe('one two three four');
    expect(chunks[4]?.['choices']).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
  });

  it('adds usage:null to every chunk and a final usage chunk with include_usage', async () => {
    const fake = await start({ behaviour: { chunks: 2, reply: 'a b c' } });
    const body = { ...chat, stream: true, stream_options: { include_usage: true } };
    const events = await sseEvents((await post(`${fake.baseUrl}/chat/completions`, body)).body);
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(chunks).toHaveLength(5);
    expect(chunks.slice(0, -1).every((c) => c['usage'] === null)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: 3, total_tokens: PROMPT_TOKENS + 3 } });
  });

  it('decodes with the official SDK, streaming with usage', async () => {
    const fake = await start({ behaviour: { chunks: 5 } });
    const client = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'k', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(content).toBe(REPLY);
    expect(usage).toEqual({ prompt_tokens: 9, completion_tokens: 11, total_tokens: 20 });
    expect(fake.received[0]?.headers['authorization']).toBe('Bearer k');
  });

  it('honours max_tokens by cutting the reply and finishing with length', async () => {
    const fake = await start({ behaviour: { reply: 'one two three four five' } });
    const res = await post(`${fake.baseUrl}/chat/completions`, { ...chat, max_tokens: 2 });
    const body = (await res.body.json()) as { choices: Array<{ message: { content: string }; finish_reason: string }> };
    expect(body.choices[0]).toMatchObject({ message: { content: 'one two' }, finish_reason: 'length' });
  });
});

describe('openai fake: embeddings and models', () => {
  it('serves base64 embeddings the SDK decodes into non-empty vectors', async () => {
    const fake = await start();
    const client = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'k', maxRetries: 0 });
    const result = await client.embeddings.create({ model: 'emb', input: ['hello', 'world'] });
    expect(fake.received[0]?.body).toMatchObject({ encoding_format: 'base64' });
    expect(result.data).toHaveLength(2);
    const [first, second] = result.data.map((d) => d.embedding);
    expect(first).toHaveLength(FAKE_EMBEDDING_DIMENSIONS);
    expect(first).not.toEqual(second);
    expect(Math.hypot(...(first ?? []))).toBeCloseTo(1, 5);
    // The float encoding carries the very same numbers.
    const res = await post(`${fake.baseUrl}/embeddings`, { model: 'emb', input: 'hello', encoding_format: 'float' });
    const floats = (await res.body.json()) as { data: Array<{ embedding: number[] }>; usage: unknown };
    expect(floats.data[0]?.embedding).toEqual(first);
    expect(floats.usage).toEqual({ prompt_tokens: 1, total_tokens: 1 });
  });

  it('honours dimensions and rejects a missing input', async () => {
    const fake = await start();
    const res = await post(`${fake.baseUrl}/embeddings`, { model: 'emb', input: 'x', dimensions: 3, encoding_format: 'float' });
    expect(((await res.body.json()) as { data: Array<{ embedding: number[] }> }).data[0]?.embedding).toHaveLength(3);
    const bad = await post(`${fake.baseUrl}/embeddings`, { model: 'emb' });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { error: { param: string } }).error.param).toBe('input');
  });

  it('lists the configured models', async () => {
    const fake = await start({ models: ['a', 'b'] });
    const res = await request(`${fake.baseUrl}/models`);
    const body = (await res.body.json()) as { object: string; data: Array<{ id: string; object: string }> };
    expect(body.object).toBe('list');
    expect(body.data.map((m) => [m.id, m.object])).toEqual([['a', 'model'], ['b', 'model']]);
  });
});

describe('openai fake: errors', () => {
  const cases: Array<[string, string, unknown, number, object]> = [
    ['unknown route', '/nope', chat, 404, { type: 'invalid_request_error', param: null, code: null }],
    ['missing model', '/chat/completions', { messages: chat.messages }, 400, { param: 'model', code: 'missing_required_parameter' }],
    ['non-string model', '/chat/completions', { ...chat, model: 7 }, 400, { param: 'model', code: 'invalid_type' }],
    ['missing messages', '/chat/completions', { model: 'm' }, 400, { param: 'messages', code: 'missing_required_parameter' }],
    ['empty messages', '/chat/completions', { model: 'm', messages: [] }, 400, { param: 'messages' }],
    ['invalid JSON', '/chat/completions', '{"model":', 400, { type: 'invalid_request_error', param: null }],
  ];
  for (const [label, path, body, status, error] of cases) {
    it(`answers ${label} with ${status} in OpenAI's shape`, async () => {
      const fake = await start();
      const res = await post(`${fake.baseUrl}${path}`, body);
      expect(res.statusCode).toBe(status);
      expect(res.headers['x-request-id']).toBeDefined();
      const json = (await res.body.json()) as { error: Record<string, unknown> };
      expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(json.error).toMatchObject({ type: 'invalid_request_error', ...error });
    });
  }

  it('rejects an unknown model with 404 model_not_found when models are configured', async () => {
    const fake = await start({ models: ['known'] });
    const res = await post(`${fake.baseUrl}/chat/completions`, chat);
    expect(res.statusCode).toBe(404);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
  });

  it('requires the configured API key, which the SDK reports as AuthenticationError', async () => {
    const fake = await start({ apiKey: 'sk-right' });
    const wrong = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'sk-wrong', maxRetries: 0 });
    await expect(wrong.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 401,
      code: 'invalid_api_key',
      type: 'invalid_request_error',
    });
    const right = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'sk-right', maxRetries: 0 });
    const ok = await right.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    expect(ok.choices[0]?.message.content).toContain('fake-openai');
    // vLLM leaves its health route open.
    expect((await request(fake.baseUrl.replace(/\/v1$/, '/health'))).statusCode).toBe(200);
  });
});

describe('openai fake: legacy completions', () => {
  it('answers in the text_completion shape', async () => {
    const fake = await start({ behaviour: { reply: 'one two three' } });
    const res = await post(`${fake.baseUrl}/completions`, { model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test' });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      object: 'text_completion',
      model: 'gpt-3.5-turbo-instruct',
      choices: [{ text: 'one two three', index: 0, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
    });
    expect(body['id']).toMatch(/^cmpl-/);
    expect(fake.stats.requests).toBe(1);
  });

  it('cuts at max_tokens (default 16) and answers one choice per prompt', async () => {
    const fake = await start({ behaviour: { reply: Array.from({ length: 20 }, (_, i) => `w${i}`).join(' ') } });
    const res = await post(`${fake.baseUrl}/completions`, { model: 'm', prompt: ['a', 'b'] });
    const body = (await res.body.json()) as { choices: Array<{ text: string; index: number; finish_reason: string }> };
    expect(body.choices.map((c) => [c.index, c.text.split(' ').length, c.finish_reason])).toEqual([
      [0, 16, 'length'],
      [1, 16, 'length'],
    ]);
    const short = await post(`${fake.baseUrl}/completions`, { model: 'm', prompt: 'a', max_tokens: 2 });
    expect(((await short.body.json()) as { choices: Array<{ text: string }> }).choices[0]?.text).toBe('w0 w1');
  });

  it('streams text fragments, a usage chunk only when asked, then [DONE]', async () => {
    const fake = await start({ behaviour: { reply: 'a b c d', chunks: 2 } });
    const plain = await sseEvents((await post(`${fake.baseUrl}/completions`, { model: 'm', prompt: 'x', stream: true })).body);
    expect(plain.at(-1)?.data).toBe('[DONE]');
    const chunks = plain.slice(0, -1).map((e) => JSON.parse(e.data) as { object: string; usage?: unknown; choices: Array<{ text: string; finish_reason: string | null }> });
    expect(chunks.every((c) => c.object === 'text_completion' && !('usage' in c))).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.text).join('')).toBe('a b c d');
    expect(chunks.map((c) => c.choices[0]?.finish_reason)).toEqual([null, 'stop']);
    const withUsage = await sseEvents(
      (await post(`${fake.baseUrl}/completions`, { model: 'm', prompt: 'x', stream: true, stream_options: { include_usage: true } })).body,
    );
    const last = JSON.parse(withUsage.at(-2)?.data ?? '{}') as Record<string, unknown>;
    expect(last).toMatchObject({ object: 'text_completion', choices: [], usage: { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 } });
  });

  it('decodes with the official SDK', async () => {
    const fake = await start();
    const client = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'k', maxRetries: 0 });
    const result = await client.completions.create({ model: 'm', prompt: 'Hi there' });
    expect(result.choices[0]?.text).toBe('Hello from fake-openai. You said: Hi there');
  });

  it('rejects a missing or invalid prompt with param prompt', async () => {
    const fake = await start();
    for (const body of [{ model: 'm' }, { model: 'm', prompt: [{}] }]) {
      const res = await post(`${fake.baseUrl}/completions`, body);
      expect(res.statusCode).toBe(400);
      expect(((await res.body.json()) as { error: { param: string } }).error.param).toBe('prompt');
    }
  });
});

describe('openai fake: Azure classic paths', () => {
  const origin = (fake: FakeUpstream): string => fake.baseUrl.replace(/\/v1$/, '');

  it('serves chat, completions and embeddings under /openai/deployments/{deployment}', async () => {
    const fake = await start({ apiKey: 'az-key' });
    const base = `${origin(fake)}/openai/deployments/my-gpt`;
    const chatRes = await post(`${base}/chat/completions?api-version=2024-10-21`, { messages: chat.messages }, { 'api-key': 'az-key' });
    expect(chatRes.statusCode).toBe(200);
    expect(await chatRes.body.json()).toMatchObject({ object: 'chat.completion', model: 'my-gpt' });
    const text = await post(`${base}/completions?api-version=2024-10-21`, { prompt: 'x' }, { 'api-key': 'az-key' });
    expect(await text.body.json()).toMatchObject({ object: 'text_completion' });
    const emb = await post(`${base}/embeddings?api-version=2024-10-21`, { input: 'x', encoding_format: 'float' }, { 'api-key': 'az-key' });
    expect(((await emb.body.json()) as { data: Array<{ embedding: number[] }> }).data[0]?.embedding).toHaveLength(FAKE_EMBEDDING_DIMENSIONS);
    expect(fake.received.map((r) => r.path)).toEqual([`/openai/deployments/my-gpt/chat/completions`, `/openai/deployments/my-gpt/completions`, `/openai/deployments/my-gpt/embeddings`]);
    expect(fake.stats.requests).toBe(3);
  });

  it('checks api-key (not Bearer) on Azure paths', async () => {
    const fake = await start({ apiKey: 'az-key' });
    const url = `${origin(fake)}/openai/deployments/d/chat/completions?api-version=2024-10-21`;
    const bearer = await post(url, chat, { authorization: 'Bearer az-key' });
    expect(bearer.statusCode).toBe(401);
    expect(((await bearer.body.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    const wrong = await post(url, chat, { 'api-key': 'nope' });
    expect(wrong.statusCode).toBe(401);
    await wrong.body.dump();
  });

  it('answers 404 in OpenAI shape for unknown Azure routes', async () => {
    const fake = await start();
    const res = await post(`${origin(fake)}/openai/deployments/d/images/generations?api-version=2024-10-21`, chat);
    expect(res.statusCode).toBe(404);
    const json = (await res.body.json()) as { error: Record<string, unknown> };
    expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  });

  it('requires api-version when the request carries its query (dialect level)', () => {
    const context: DialectContext = {
      fakeName: 'fake-openai',
      behaviour: defaultBehaviour,
      models: undefined,
      apiKey: undefined,
      sequence: 1,
      nowSeconds: 1,
    };
    const request = (query: string): FakeRequest =>
      ({ method: 'POST', path: '/openai/deployments/d/chat/completions', headers: {}, body: chat, query }) as FakeRequest;
    const missing = openAiDialect.answer(request(''), context);
    expect(missing).toMatchObject({ kind: 'json', status: 404, body: { error: { type: 'invalid_request_error', param: null } } });
    const present = openAiDialect.answer(request('api-version=2024-10-21'), context);
    expect(present).toMatchObject({ kind: 'json', status: 200, body: { object: 'chat.completion', model: 'd' } });
  });
});
