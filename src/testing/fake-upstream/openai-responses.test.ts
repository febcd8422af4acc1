import { readFileSync } from 'node:fs';
import OpenAI, { AzureOpenAI } from 'openai';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { textStreamTypes } from '../../../test/helpers/responses-sse.js';
import { SseDecoder } from '../../upstream/sse-decoder.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { fakeStarter } from './dialect-test-kit.js';

const start = fakeStarter('openai');

function post(url: string, body: unknown, headers: Record<string, string> = {}): ReturnType<typeof request> {
  return request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function sseEvents(body: AsyncIterable<Uint8Array>): Promise<SseEvent[]> {
  const decoder = new SseDecoder();
  const events: SseEvent[] = [];
  for await (const chunk of body) events.push(...decoder.push(chunk));
  return [...events, ...decoder.end()];
}

type Json = Record<string, any>;

/** The recorded OpenAI streams the fake's must look like (test/fixtures/openai-responses/). */
function recorded(name: string): Json[] {
  const text = readFileSync(new URL(`../../../test/fixtures/openai-responses/${name}`, import.meta.url), 'utf8');
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Json);
}

/** Keys of an object, and of its nested objects, as dotted paths: the shape without the values. */
function shape(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Json).flatMap(([k, v]) => [`${prefix}${k}`, ...shape(v, `${prefix}${k}.`)]);
}

/** The recorded event's keys (the fields OpenAI has added since, like tool_usage or obfuscation, left out) must all be in the fake's. */
const later = /^(response\.)?(tool_usage|moderation|frequency_penalty|presence_penalty|prompt_cache_retention|billing)|obfuscation|reasoning\.(context|mode)|cache_write_tokens/;
function expectSameShape(fake: Json, real: Json): void {
  const missing = shape(real).filter((k) => !later.test(k) && !shape(fake).includes(k));
  expect(missing, `${String(real.type)} lacks keys`).toEqual([]);
}

const ask = { model: 'gpt-test', instructions: 'Be brief.', input: [{ role: 'user', content: 'What is the capital of France?' }] };
// Words plus 3 per item, as the chat fake counts: instructions (2 + 3) and the message (6 + 3).
const INPUT_TOKENS = 14;
const REPLY = 'Hello from fake-openai. You said: What is the capital of France?';
const weather = { type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

describe('openai fake: /v1/responses', () => {
  it('answers a Response object shaped like OpenAI\'s, echoing the request, with word-count usage; the SDK reads it', async () => {
    const fake = await start();
    const client = new OpenAI({ apiKey: 'k', baseURL: fake.baseUrl });
    const response = await client.responses.create({ ...ask, store: false, temperature: 0.3 } as never);
    expect(response.output_text).toBe(REPLY);
    expect(response).toMatchObject({
      id: 'resp_fake_1',
      object: 'response',
      status: 'completed',
      model: 'gpt-test',
      instructions: 'Be brief.',
      store: false,
      temperature: 0.3,
      output: [{ id: 'msg_fake_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: REPLY, annotations: [], logprobs: [] }] }],
      usage: { input_tokens: INPUT_TOKENS, input_tokens_details: { cached_tokens: 0 }, output_tokens: 11, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: INPUT_TOKENS + 11 },
    });
    const real = recorded('text.chunks.txt').at(-1)!.response as Json;
    expectSameShape(response as unknown as Json, real);
    expect(fake.received[0]).toMatchObject({ method: 'POST', path: '/v1/responses', body: { model: 'gpt-test', store: false } });
  });

  it('streams the events OpenAI sends, in its order, named and numbered, ending with response.completed and no [DONE]', async () => {
    const fake = await start({ behaviour: { chunks: 3, reply: 'one two three four' } });
    const res = await post(`${fake.baseUrl}/responses`, { ...ask, stream: true });
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = await sseEvents(res.body);
    const data = events.map((e) => JSON.parse(e.data) as Json);
    expect(events.map((e) => e.event)).toEqual(data.map((d) => d.type));
    expect(data.map((d) => d.type)).toEqual(textStreamTypes(3));
    expect(data.map((d) => d.sequence_number)).toEqual(data.map((_d, i) => i));
    expect(data.filter((d) => d.type === 'response.output_text.delta').map((d) => d.delta).join('')).toBe('one two three four');
    expect(data[0]!.response).toMatchObject({ status: 'in_progress', output: [], usage: null });
    expect(data.at(-1)!.response).toMatchObject({ status: 'completed', usage: { input_tokens: INPUT_TOKENS, output_tokens: 4, total_tokens: INPUT_TOKENS + 4 } });
    // Each event has at least the keys of the recorded OpenAI event of the same type.
    const real = recorded('text.chunks.txt');
    for (const event of data) {
      const twin = real.find((r) => r.type === event.type);
      if (twin !== undefined) expectSameShape(event, twin);
    }
  });

  it('the SDK\'s stream helper assembles the streamed response', async () => {
    const fake = await start({ behaviour: { chunks: 5 } });
    const client = new OpenAI({ apiKey: 'k', baseURL: fake.baseUrl });
    const final = await client.responses.stream({ model: 'gpt-test', input: 'Say hi' }).finalResponse();
    expect(final.output_text).toBe('Hello from fake-openai. You said: Say hi');
    expect(final.usage).toMatchObject({ input_tokens: 5, output_tokens: 7 });
  });

  it('a forced function tool: a function_call item, its arguments streamed as deltas, shaped like the recorded call', async () => {
    const fake = await start({ behaviour: { chunks: 4 } });
    const body = { model: 'gpt-test', input: 'Weather?', tools: [weather], tool_choice: 'required' };
    const json = (await (await post(`${fake.baseUrl}/responses`, body)).body.json()) as Json;
    expect(json.output).toEqual([{ id: 'fc_fake_1', type: 'function_call', status: 'completed', arguments: '{"city":"fake-city"}', call_id: 'call_fake_1', name: 'get_weather' }]);
    const data = (await sseEvents((await post(`${fake.baseUrl}/responses`, { ...body, stream: true, tool_choice: { type: 'function', name: 'get_weather' } })).body)).map((e) => JSON.parse(e.data) as Json);
    expect(data.map((d) => d.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      ...Array(4).fill('response.function_call_arguments.delta'),
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(data.filter((d) => d.type.endsWith('.delta')).map((d) => d.delta).join('')).toBe('{"city":"fake-city"}');
    const real = recorded('tool-call.chunks.txt');
    for (const event of data) expectSameShape(event, real.find((r) => r.type === event.type)!);
    // Unknown forced tool: OpenAI's 400.
    const bad = await post(`${fake.baseUrl}/responses`, { ...body, tool_choice: { type: 'function', name: 'nope' } });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as Json).error).toMatchObject({ param: 'tool_choice' });
  });

  it('max_output_tokens cuts the reply: status incomplete with its reason, the stream ends with response.incomplete', async () => {
    const fake = await start({ behaviour: { reply: Array.from({ length: 30 }, (_v, i) => `w${i}`).join(' ') } });
    const json = (await (await post(`${fake.baseUrl}/responses`, { ...ask, max_output_tokens: 16 })).body.json()) as Json;
    expect(json).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { output_tokens: 16 } });
    const data = (await sseEvents((await post(`${fake.baseUrl}/responses`, { ...ask, max_output_tokens: 16, stream: true })).body)).map((e) => JSON.parse(e.data) as Json);
    expect(data.at(-1)).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete' } });
  });

  it('an error-event fault: error then response.failed, numbered after the last event sent, as OpenAI reports one', async () => {
    const fake = await start();
    fake.enqueue({ kind: 'error-event', afterChunks: 2 });
    const events = await sseEvents((await post(`${fake.baseUrl}/responses`, { ...ask, stream: true })).body);
    const data = events.map((e) => JSON.parse(e.data) as Json);
    expect(events.map((e) => e.event)).toEqual(['response.created', 'response.in_progress', 'error', 'response.failed']);
    expect(data[2]).toEqual({ type: 'error', code: 'server_error', message: 'The fake upstream failed mid-stream (scripted).', param: null, sequence_number: 2 });
    expect(data[3]).toMatchObject({ sequence_number: 3, response: { status: 'failed', error: { code: 'server_error' } } });
    expectSameShape(data[3]!, recorded('error.chunks.txt')[3]!);
    // Status faults answer in OpenAI's error shape on this route too.
    fake.enqueue({ kind: 'status', status: 429 });
    const limited = await post(`${fake.baseUrl}/responses`, ask);
    expect(limited.statusCode).toBe(429);
    expect(await limited.body.json()).toEqual({ error: { message: 'Rate limit reached for requests.', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    expect(fake.stats).toMatchObject({ requests: 2, faulted: 2 });
  });

  it.each([
    [{ input: 'x' }, 400, 'model'],
    [{ model: 'm' }, 400, 'input'],
    [{ model: 'm', input: 42 }, 400, 'input'],
    [{ model: 'm', input: [{ role: 'robot', content: 'x' }] }, 400, 'input[0].role'],
    [{ model: 'm', input: [{ type: 'function_call_output', call_id: 'call_1', output: 'x' }] }, 400, 'input'],
    [{ model: 'm', input: 'x', previous_response_id: 'resp_1' }, 400, 'previous_response_id'],
    [{ model: 'm', input: 'x', max_output_tokens: 5 }, 400, 'max_output_tokens'],
    [{ model: 'm', store: false, input: [{ type: 'reasoning', id: 'rs_1', summary: [] }] }, 404, 'input'],
  ])('refuses %j as OpenAI does (%i, param %s)', async (body, status, param) => {
    const fake = await start();
    const res = await post(`${fake.baseUrl}/responses`, body);
    expect(res.statusCode).toBe(status);
    const error = ((await res.body.json()) as Json).error as Json;
    expect(error).toMatchObject({ param });
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  });

  it('accepts a conversation carried as items: function_call then its output, reasoning with encrypted_content', async () => {
    const fake = await start();
    const input = [
      { role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] },
      { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'gAAAA' },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
    ];
    const res = await post(`${fake.baseUrl}/responses`, { model: 'm', input, store: false });
    expect(res.statusCode).toBe(200);
    // 3 words + 3; reasoning 0 + 3; "get_weather {"city":"Paris"}" 2 + 3; "sunny" 1 + 3.
    expect(((await res.body.json()) as Json).usage).toMatchObject({ input_tokens: 18 });
  });

  it('/v1/responses/input_tokens counts the body as /v1/responses would, and is no inference request', async () => {
    const fake = await start({ apiKey: 'k' });
    const client = new OpenAI({ apiKey: 'k', baseURL: fake.baseUrl });
    expect(await client.responses.inputTokens.count(ask as never)).toEqual({ object: 'response.input_tokens', input_tokens: INPUT_TOKENS });
    const answer = await client.responses.create(ask as never);
    expect(answer.usage?.input_tokens).toBe(INPUT_TOKENS);
    expect(fake.stats.requests).toBe(1);
    const bad = await post(`${fake.baseUrl}/responses/input_tokens`, { input: 'x' }, { authorization: 'Bearer k' });
    expect(bad.statusCode).toBe(400);
  });

  it('Azure: /openai/v1/responses, and /openai/responses with api-version (404 without), model naming the deployment', async () => {
    const fake = await start({ apiKey: 'az', models: ['my-deploy'] });
    const origin = fake.baseUrl.replace(/\/v1$/, '');
    const v1 = new OpenAI({ baseURL: `${origin}/openai/v1`, apiKey: 'unused', defaultHeaders: { 'api-key': 'az' } });
    expect((await v1.responses.create({ model: 'my-deploy', input: 'hi' })).output_text).toBe('Hello from fake-openai. You said: hi');
    const classic = new AzureOpenAI({ endpoint: origin, apiKey: 'az', apiVersion: '2025-04-01-preview' });
    const final = await classic.responses.stream({ model: 'my-deploy', input: 'hi' }).finalResponse();
    expect(final.output_text).toBe('Hello from fake-openai. You said: hi');
    expect(fake.received.map((r) => `${r.path}?${r.query ?? ''}`)).toEqual(['/openai/v1/responses?', '/openai/responses?api-version=2025-04-01-preview']);
    expect(await classic.responses.inputTokens.count({ model: 'my-deploy', input: 'hi there' })).toMatchObject({ input_tokens: 5 });
    const noVersion = await post(`${origin}/openai/responses`, { model: 'my-deploy', input: 'hi' }, { 'api-key': 'az' });
    expect(noVersion.statusCode).toBe(404);
    const unknown = await post(`${origin}/openai/v1/responses`, { model: 'other', input: 'hi' }, { 'api-key': 'az' });
    expect(unknown.statusCode).toBe(404);
  });
});
