/**
 * The official openai client (6.x) against the gateway in front of the Gemini and Ollama fakes,
 * over real sockets: plain, streamed (usage in stream), tools (JSON and streamed, with the
 * generated ids round-tripping), structured output through `parse()` with zod, images,
 * embeddings in base64, refused parameters, and one fault scenario of each kind per provider.
 */
import OpenAI, { APIError, BadRequestError, RateLimitError } from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { geminiError } from '../src/testing/fake-upstream/gemini-dialect.js';
import { embeddingVector } from '../src/testing/fake-upstream/reply.js';
import { chat, chatBody, deploymentFor, KEY, metric, startHarness, type Harness } from './helpers/harness.js';

type Dialect = 'gemini' | 'ollama';
type Json = Record<string, any>;

const REPLY = 'one two three four five six seven';
const GEMINI_KEY = 'AIzaFakeGeminiKey-0123456789';
const upstreamModel: Record<Dialect, string> = { gemini: 'gemini-2.5-flash', ollama: 'llama3.2' };
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function setup(dialect: Dialect, options: { model?: string; retry?: Json } = {}): Promise<{ h: Harness; client: OpenAI; received: () => Json[] }> {
  const h = await startHarness({
    fakes: [{ dialect, behaviour: { reply: REPLY, chunks: 4 }, ...(dialect === 'gemini' ? { apiKey: GEMINI_KEY } : {}) }],
    env: { GEMINI_API_KEY: GEMINI_KEY },
    config: ([fake]) => ({
      deployments: { d: deploymentFor(fake!, dialect === 'gemini' ? { apiKey: '${env:GEMINI_API_KEY}' } : {}) },
      models: { chat: { targets: [{ deployment: 'd', model: options.model ?? upstreamModel[dialect] }] } },
      ...(options.retry ? { retry: options.retry } : {}),
    }),
  });
  open.push(h);
  const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 10_000 });
  return { h, client, received: () => h.fakes[0]!.received.map((r) => ({ ...r, body: r.body as Json })) };
}

const messages = [{ role: 'user' as const, content: 'Count to seven.' }];
const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe.each(['gemini', 'ollama'] as const)('official openai client through a %s deployment', (dialect) => {
  it('plain completion: text, finish_reason, real usage; the upstream got its own wire format', async () => {
    const { client, received } = await setup(dialect);
    const res = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'system', content: 'Be brief.' }, ...messages], temperature: 0.2, max_tokens: 50, stop: ['END'], seed: 7 });
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('chat');
    expect(res.choices[0]?.message.content).toBe(REPLY);
    expect(res.choices[0]?.finish_reason).toBe('stop');
    const [sent] = received();
    if (dialect === 'gemini') {
      expect(sent!.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
      expect(sent!.headers['x-goog-api-key']).toBe(GEMINI_KEY);
      expect(sent!.headers['authorization']).toBeUndefined();
      expect(sent!.body).toEqual({
        contents: [{ role: 'user', parts: [{ text: 'Count to seven.' }] }],
        systemInstruction: { parts: [{ text: 'Be brief.' }] },
        generationConfig: { temperature: 0.2, maxOutputTokens: 50, stopSequences: ['END'], seed: 7 },
      });
      // The fake counts words + 1 per content (4) plus the system words (2); 7 thought tokens on 2.5 models.
      expect(res.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 7 + 7, total_tokens: 20, completion_tokens_details: { reasoning_tokens: 7 } });
    } else {
      expect(sent!.path).toBe('/api/chat');
      expect(sent!.body).toEqual({
        model: 'llama3.2',
        messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Count to seven.' }],
        stream: false,
        options: { temperature: 0.2, seed: 7, stop: ['END'], num_predict: 50 },
      });
      // prompt_eval_count: words + 4 per message; eval_count: words.
      expect(res.usage).toMatchObject({ prompt_tokens: 2 + 4 + 3 + 4, completion_tokens: 7, total_tokens: 20 });
    }
  });

  it('max_tokens cut → finish_reason length', async () => {
    const { client } = await setup(dialect);
    const res = await client.chat.completions.create({ model: 'chat', messages, max_completion_tokens: 3 });
    expect(res.choices[0]?.message.content).toBe('one two three');
    expect(res.choices[0]?.finish_reason).toBe('length');
  });

  it('streamed: deltas rebuild the text, one finish, exactly one usage chunk equal to the JSON usage', async () => {
    const { client, received } = await setup(dialect);
    const plain = await client.chat.completions.create({ model: 'chat', messages });
    const stream = await client.chat.completions.create({ model: 'chat', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    const finishes: string[] = [];
    const usages: unknown[] = [];
    const ids = new Set<string>();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      expect(chunk.model).toBe('chat');
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usages.push(chunk.usage);
    }
    expect(text).toBe(REPLY);
    expect(finishes).toEqual(['stop']);
    expect(usages).toEqual([plain.usage]);
    expect(ids.size).toBe(1);
    const sent = received()[1]!;
    if (dialect === 'gemini') {
      expect([sent.path, sent.query]).toEqual(['/v1beta/models/gemini-2.5-flash:streamGenerateContent', 'alt=sse']);
    } else {
      expect(sent.body['stream']).toBe(true);
    }
  });

  it('streamed without include_usage: no usage chunk', async () => {
    const { client } = await setup(dialect);
    const stream = await client.chat.completions.create({ model: 'chat', messages, stream: true });
    let usageChunks = 0;
    for await (const chunk of stream) if (chunk.choices.length === 0 || chunk.usage) usageChunks += 1;
    expect(usageChunks).toBe(0);
  });

  it('tool calls: object arguments become a JSON string with a generated id, and the result goes back by name', async () => {
    // Gemini 3 signs function calls and rejects a replay without the signature: the id carries it.
    const { client, received } = await setup(dialect, dialect === 'gemini' ? { model: 'gemini-3-pro-preview' } : {});
    const first = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], tool_choice: 'auto' });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.id).toMatch(/^call_/);
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'sample' });
    const second = await client.chat.completions.create({
      model: 'chat',
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris?' }, choice.message, { role: 'tool', tool_call_id: call.id, content: '{"temperature_c":21}' }],
    });
    expect(second.choices[0]?.message.content).toBe(REPLY);
    expect(second.choices[0]?.finish_reason).toBe('stop');
    const replay = received()[1]!.body;
    if (dialect === 'gemini') {
      expect(replay['tools']).toEqual([{ functionDeclarations: [{ name: 'get_weather', description: 'Weather in a city', parametersJsonSchema: weatherTool.function.parameters }] }]);
      expect(replay['contents'][1]).toEqual({ role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'sample' } }, thoughtSignature: expect.any(String) }] });
      expect(replay['contents'][2]).toEqual({ role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temperature_c: 21 } } }] });
    } else {
      expect(replay['messages'][1]).toEqual({ role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'sample' } } }] });
      expect(replay['messages'][2]).toEqual({ role: 'tool', content: '{"temperature_c":21}', tool_name: 'get_weather' });
    }
  });

  it('streamed tool call: the SDK assembles it (finalChatCompletion)', async () => {
    const { client } = await setup(dialect);
    const stream = client.chat.completions.stream({ model: 'chat', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], stream_options: { include_usage: true } });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.id).toMatch(/^call_/);
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'sample' });
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('structured output: parse() with a zod schema; the schema reached the upstream', async () => {
    const { client, received } = await setup(dialect);
    const Weather = z.object({ city: z.string(), temperature: z.number(), sunny: z.boolean() });
    const res = await client.chat.completions.parse({ model: 'chat', messages, response_format: zodResponseFormat(Weather, 'weather') });
    expect(res.choices[0]?.message.parsed).toEqual({ city: 'sample', temperature: 1.5, sunny: true });
    const sent = received()[0]!.body;
    if (dialect === 'gemini') {
      expect(sent['generationConfig']).toMatchObject({ responseMimeType: 'application/json', responseJsonSchema: { type: 'object', required: ['city', 'temperature', 'sunny'] } });
    } else {
      expect(sent['format']).toMatchObject({ type: 'object', required: ['city', 'temperature', 'sunny'] });
    }
  });

  it('images: a data URL becomes inline base64 for the upstream; a remote URL is refused with a 400', async () => {
    const { client, received } = await setup(dialect);
    const content = [{ type: 'text' as const, text: 'What is this?' }, { type: 'image_url' as const, image_url: { url: `data:image/png;base64,${PNG}` } }];
    const res = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content }] });
    expect(res.choices[0]?.finish_reason).toBe('stop');
    const sent = received()[0]!.body;
    if (dialect === 'gemini') {
      expect(sent['contents'][0].parts).toEqual([{ text: 'What is this?' }, { inlineData: { mimeType: 'image/png', data: PNG } }]);
    } else {
      expect(sent['messages'][0]).toEqual({ role: 'user', content: 'What is this?', images: [PNG] });
    }
    const remote = [{ type: 'image_url' as const, image_url: { url: 'https://example.com/cat.png' } }];
    const err = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: remote }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).param).toBe('messages[0].content[0].image_url.url');
  });

  it('embeddings: the SDK default (base64) decodes to the upstream floats', async () => {
    const { client, received } = await setup(dialect);
    const res = await client.embeddings.create({ model: 'chat', input: ['alpha', 'beta'] });
    expect(res.data.map((d) => d.embedding)).toEqual([embeddingVector('alpha', 16), embeddingVector('beta', 16)]);
    const sent = received()[0]!;
    if (dialect === 'gemini') expect(sent.path).toBe('/v1beta/models/gemini-2.5-flash:batchEmbedContents');
    else expect(sent.body).toEqual({ model: 'llama3.2', input: ['alpha', 'beta'] });
  });

  it('parameters the protocol cannot carry are refused with a 400 naming them, never sent upstream', async () => {
    const { h, client } = await setup(dialect);
    for (const extra of [{ logprobs: true }, { logit_bias: { '50256': -100 } }, { parallel_tool_calls: false, tools: [weatherTool] }]) {
      const err = await client.chat.completions.create({ model: 'chat', messages, ...extra }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      const param = Object.keys(extra)[0];
      expect((err as BadRequestError).param).toBe(param);
      expect((err as BadRequestError).message).toContain(dialect === 'gemini' ? 'Gemini' : 'Ollama');
    }
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });
});

describe('n > 1', () => {
  it('Gemini: n becomes candidateCount and each candidate a choice', async () => {
    const { client, received } = await setup('gemini');
    const res = await client.chat.completions.create({ model: 'chat', messages, n: 2 });
    expect(res.choices.map((c) => [c.index, c.message.content])).toEqual([[0, REPLY], [1, REPLY]]);
    expect(received()[0]!.body['generationConfig']).toEqual({ candidateCount: 2 });
  });

  it('Ollama: n > 1 is refused with a 400 naming n', async () => {
    const { client } = await setup('ollama');
    const err = await client.chat.completions.create({ model: 'chat', messages, n: 2 }).catch((e: unknown) => e);
    expect((err as BadRequestError).param).toBe('n');
  });
});

describe('faults through the Gemini and Ollama dialects', () => {
  it('F-03 Gemini: 429 whose RetryInfo says 0.3s → the gateway waits it out and retries, client gets 200', async () => {
    const { h } = await setup('gemini');
    h.fakes[0]!.enqueue({ kind: 'status', status: 429, body: geminiError(429, 'Quota exceeded.', '0.3s') });
    const t0 = performance.now();
    const res = await chat(h.url, chatBody('chat'));
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-attempts']).toBe('2');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(280);
    expect(h.fakes[0]!.stats.requests).toBe(2);
  });

  it('F-04 Gemini: 429 whose RetryInfo says 34.4s → surfaced at once as RateLimitError with Retry-After 35', async () => {
    const { h, client } = await setup('gemini', { retry: { maxRetryAfterMs: 5_000 } });
    h.fakes[0]!.enqueue({ kind: 'status', status: 429, body: geminiError(429, 'You exceeded your current quota.', '34.4s') });
    const err = await client.chat.completions.create({ model: 'chat', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const headers = (err as RateLimitError).headers;
    expect(headers?.get('retry-after')).toBe('35');
    expect(Number(headers?.get('retry-after-ms'))).toBeGreaterThan(30_000);
    expect(h.fakes[0]!.stats.requests).toBe(1);
  });

  it('F-03 Ollama: a 429 (Ollama sends no Retry-After) is retried after the default cooldown, client gets 200', async () => {
    const { h } = await setup('ollama', { retry: { defaultCooldownMs: 50 } });
    h.fakes[0]!.enqueue({ kind: 'status', status: 429 });
    const res = await chat(h.url, chatBody('chat'));
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-attempts']).toBe('2');
  });

  it.each(['gemini', 'ollama'] as const)('F-12 %s: drop after 2 upstream events → the chunks so far, one error event, no [DONE]', async (dialect) => {
    const { h } = await setup(dialect);
    h.fakes[0]!.enqueue({ kind: 'reset-mid-stream', afterChunks: 2 });
    const res = await chat(h.url, chatBody('chat', { stream: true }));
    expect(res.status).toBe(200);
    const events = res.events();
    expect(events).not.toContain('[DONE]');
    const parsed = events.map((e) => JSON.parse(e) as Json);
    const errors = parsed.filter((p) => 'error' in p);
    expect(errors).toHaveLength(1);
    expect(parsed.at(-1)).toEqual({ error: { message: expect.any(String), type: 'server_error', param: null, code: 'upstream_error' } });
    // Two upstream events: the role chunk with the first piece, then the second piece.
    expect(parsed.filter((p) => !('error' in p)).map((p) => p['choices'][0].delta.content).join('')).toBe('one two three ');
    expect(await metric(h.url, 'gateway_requests_total', { model: 'chat', outcome: 'upstream_error' })).toBe(1);
  });

  it.each(['gemini', 'ollama'] as const)('F-13 %s: an in-band error after 2 events → one error event naming the upstream message; the SDK raises APIError', async (dialect) => {
    const { h, client } = await setup(dialect);
    // Spaced events, so the first commits the stream before the error arrives (an error in the
    // same read as the first event is still pre-commit, and is retried instead).
    h.fakes[0]!.setBehaviour({ chunkIntervalMs: 50 });
    h.fakes[0]!.enqueue({ kind: 'error-event', afterChunks: 2 });
    const stream = await client.chat.completions.create({ model: 'chat', messages, stream: true });
    let received = 0;
    const consume = async (): Promise<void> => {
      for await (const _chunk of stream) received += 1;
    };
    const err = await consume().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).message).toContain('failed mid-stream');
    expect(received).toBe(2);
  });

  it.each(['gemini', 'ollama'] as const)('F-01 %s: a 503 before the stream starts is retried before commit → a clean stream', async (dialect) => {
    const { h } = await setup(dialect);
    h.fakes[0]!.enqueue({ kind: 'status', status: 503 });
    const res = await chat(h.url, chatBody('chat', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.events().at(-1)).toBe('[DONE]');
    expect(h.fakes[0]!.stats.requests).toBe(2);
  });

  it.each(['gemini', 'ollama'] as const)('F-14 %s: a 200 whose stream is only an in-band error is retried before commit → a clean stream', async (dialect) => {
    const { h } = await setup(dialect);
    h.fakes[0]!.enqueue({ kind: 'error-event', afterChunks: 0 });
    const res = await chat(h.url, chatBody('chat', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.events().at(-1)).toBe('[DONE]');
    expect(h.fakes[0]!.stats.requests).toBe(2);
  });
});

describe('Gemini credentials', () => {
  it('S-18: a wrong API key (Gemini says 400 API_KEY_INVALID) is the operator’s problem: 502, not retried, key never echoed', async () => {
    const h = await startHarness({
      fakes: [{ dialect: 'gemini', apiKey: GEMINI_KEY }],
      env: { GEMINI_API_KEY: 'AIzaWrongKey-9876543210' },
      config: ([fake]) => ({
        deployments: { d: deploymentFor(fake!, { apiKey: '${env:GEMINI_API_KEY}' }) },
        models: { chat: { targets: [{ deployment: 'd', model: 'gemini-2.5-flash' }] } },
      }),
    });
    open.push(h);
    const res = await chat(h.url, chatBody('chat'));
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ error: { code: 'upstream_error', type: 'server_error' } });
    expect(res.text).not.toContain('AIzaWrongKey');
    expect(h.fakes[0]!.stats.requests).toBe(1);
    expect(h.fakes[0]!.received[0]!.headers['x-goog-api-key']).toBe('AIzaWrongKey-9876543210');
  });
});

describe('routing around what a provider cannot carry', () => {
  it('a parameter Gemini cannot express skips the Gemini deployment and is served by the OpenAI one; never dropped', async () => {
    const h = await startHarness({
      fakes: [{ dialect: 'gemini' }, { dialect: 'openai' }],
      config: ([gemini, openai]) => ({
        deployments: { g: deploymentFor(gemini!), o: deploymentFor(openai!) },
        models: { chat: { strategy: 'priority', targets: [{ deployment: 'g', model: 'gemini-2.5-flash', priority: 0 }, { deployment: 'o', model: 'gpt-4o-mini', priority: 1 }] } },
      }),
    });
    open.push(h);
    const res = await chat(h.url, chatBody('chat', { logit_bias: { '50256': -100 } }));
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('o');
    expect(h.fakes[0]!.stats.requests).toBe(0);
    expect((h.fakes[1]!.received[0]!.body as Json)['logit_bias']).toEqual({ '50256': -100 });
    const plain = await chat(h.url, chatBody('chat'));
    expect(plain.headers['x-gateway-provider']).toBe('g');
  });
});
