/**
 * Conformance: both Anthropic SDK lines against the gateway's `POST /v1/messages`, with the model
 * served by an OpenAI-protocol, an Anthropic and a Triton deployment (fakes).
 */
import Anthropic, * as sdk1 from '@anthropic-ai/sdk';
import type { APIError } from '@anthropic-ai/sdk';
import Anthropic0137, * as sdk0137 from 'anthropic-sdk-0137';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeDialectName } from '../src/testing/fake-upstream/script.js';
import { chat, deploymentFor, KEY, metric, startHarness, type Harness } from './helpers/harness.js';

const REPLY = 'one two three four five six';
const TIGHT_KEY = 'sk-test-tight-0123456789';
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

/** Each SDK line has its own error classes; instances of one are not instances of the other. */
type ErrorClass = abstract new (...args: never[]) => APIError;
interface Classes { APIError: ErrorClass; AuthenticationError: ErrorClass; BadRequestError: ErrorClass; NotFoundError: ErrorClass; RateLimitError: ErrorClass }

const lines = [
  { line: '@anthropic-ai/sdk 1.13.0 (Bearer)', make: (baseURL: string, apiKey: string) => new Anthropic({ baseURL, apiKey, maxRetries: 0, timeout: 10_000 }), errors: sdk1 as unknown as Classes },
  { line: 'anthropic-sdk 0.137.0 (x-api-key)', make: (baseURL: string, apiKey: string) => new Anthropic0137({ baseURL, apiKey, maxRetries: 0, timeout: 10_000 }) as unknown as Anthropic, errors: sdk0137 as unknown as Classes },
];

async function setup(dialect: FakeDialectName): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect, behaviour: { reply: REPLY, chunks: 3 } }],
    config: ([fake]) => ({
      deployments: { d: deploymentFor(fake!) },
      models: { claude: { targets: [{ deployment: 'd', model: 'served-model' }] } },
      tenants: { main: { keys: [KEY], models: ['*'] }, tight: { keys: [TIGHT_KEY], models: ['*'], limits: { requests: { capacity: 1, refillPerSecond: 0.001 } } } },
    }),
  });
  open.push(h);
  return h;
}

const params = { model: 'claude', max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user' as const, content: 'Count to six.' }] };
/** Usage each fake reports for `params` (words; the OpenAI fake adds 3 per message; Triton is estimated by the gateway). */
const expectedUsage: Record<'openai' | 'anthropic' | 'triton', { input_tokens: number; output_tokens: number } | undefined> = {
  openai: { input_tokens: 11, output_tokens: 6 },
  anthropic: { input_tokens: 5, output_tokens: 6 },
  triton: undefined,
};
const weather = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };

describe.each(lines)('$line → /v1/messages', ({ make, errors }) => {
  const { AuthenticationError, BadRequestError, NotFoundError, RateLimitError } = errors;
  describe.each(['openai', 'anthropic', 'triton'] as const)('served by a %s deployment', (dialect) => {
    it('messages.create: text, stop_reason, usage, request id', async () => {
      const h = await setup(dialect);
      const { data, response } = await make(h.url, KEY).messages.create(params).withResponse();
      expect(data).toMatchObject({ type: 'message', role: 'assistant', model: 'claude', content: [{ type: 'text', text: REPLY }], stop_reason: 'end_turn', stop_sequence: null });
      expect(data.id).toMatch(/^msg_/);
      const usage = expectedUsage[dialect];
      if (usage) expect(data.usage).toMatchObject(usage);
      else expect(data.usage.input_tokens).toBeGreaterThan(0);
      expect(response.headers.get('request-id')).toBe(response.headers.get('x-gateway-request-id'));
      expect(response.headers.get('x-gateway-provider')).toBe('d');
      // One request on the /v1/messages route, as a chat operation; its usage is accounted.
      expect(await metric(h.url, 'gateway_requests_total', { route: '/v1/messages', model: 'claude', outcome: 'success' })).toBe(1);
      expect(await metric(h.url, 'gen_ai_client_token_usage_sum', { gen_ai_operation_name: 'chat', gen_ai_token_type: 'output' })).toBe(data.usage.output_tokens);
    });

    it('messages.stream: text events, finalMessage with the usage of message_delta', async () => {
      const h = await setup(dialect);
      const texts: string[] = [];
      const stream = make(h.url, KEY).messages.stream(params).on('text', (t) => texts.push(t));
      const final = await stream.finalMessage();
      expect(texts.join('')).toBe(REPLY);
      expect(final).toMatchObject({ model: 'claude', content: [{ type: 'text', text: REPLY }], stop_reason: 'end_turn' });
      const usage = expectedUsage[dialect];
      if (usage) expect(final.usage).toMatchObject(usage);
      else expect(final.usage.output_tokens).toBeGreaterThan(0);
    });

    it('max_tokens cut → stop_reason max_tokens', async () => {
      const h = await setup(dialect);
      if (dialect === 'triton') return; // the Triton fake does not cut replies at max_tokens
      const data = await make(h.url, KEY).messages.create({ ...params, max_tokens: 2 });
      expect(data).toMatchObject({ content: [{ type: 'text', text: 'one two' }], stop_reason: 'max_tokens', usage: { output_tokens: 2 } });
    });
  });

  it('tool use served by Anthropic (native): tool_use block with parsed input, streamed and not', async () => {
    const h = await setup('anthropic');
    const client = make(h.url, KEY);
    const req = { ...params, tools: [weather], tool_choice: { type: 'any' as const } };
    const plain = await client.messages.create(req);
    expect(plain).toMatchObject({ stop_reason: 'tool_use', content: [{ type: 'tool_use', name: 'get_weather', input: { city: 'fake-city' } }] });
    const streamed = await client.messages.stream(req).finalMessage();
    expect(streamed).toMatchObject({ stop_reason: 'tool_use', content: [{ type: 'tool_use', name: 'get_weather', input: { city: 'fake-city' } }] });
    // The body reached Anthropic as sent (only the model replaced).
    expect(h.fakes[0]!.received[0]!.body).toEqual({ ...req, model: 'served-model' });
    expect(h.fakes[0]!.received[0]!.headers['anthropic-beta']).toBeUndefined();
    // The client's anthropic-beta header is forwarded to Anthropic deployments.
    await client.messages.create(params, { headers: { 'anthropic-beta': 'context-1m-2025-08-07,files-api-2025-04-14' } });
    expect(h.fakes[0]!.received.at(-1)!.headers['anthropic-beta']).toBe('context-1m-2025-08-07,files-api-2025-04-14');
  });

  it('tool use served by OpenAI: tools and tool results translated, tool_calls come back as tool_use blocks', async () => {
    const h = await setup('openai');
    const fake = h.fakes[0]!;
    fake.enqueue({
      kind: 'status',
      status: 200,
      body: {
        id: 'chatcmpl-x', object: 'chat.completion', created: 1, model: 'served-model',
        choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, finish_reason: 'tool_calls' }],
        usage: { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27, prompt_tokens_details: { cached_tokens: 8 } },
      },
    });
    const client = make(h.url, KEY);
    const first = await client.messages.create({ ...params, tools: [weather], tool_choice: { type: 'tool', name: 'get_weather' } });
    expect(first).toMatchObject({ stop_reason: 'tool_use', content: [{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }] });
    expect(first.usage).toMatchObject({ input_tokens: 12, cache_read_input_tokens: 8, output_tokens: 7 });
    expect(fake.received[0]!.body).toMatchObject({
      model: 'served-model',
      max_completion_tokens: 100,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: weather.input_schema } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    await client.messages.create({
      ...params,
      tools: [weather],
      messages: [...params.messages, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '14°C' }] }],
    });
    expect(fake.received[1]!.body).toMatchObject({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Count to six.' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '14°C' },
      ],
    });
  });

  it('error classes: 401 AuthenticationError, 404 NotFoundError, 400 BadRequestError, 429 RateLimitError, in Anthropic error shape', async () => {
    const h = await setup('openai');
    const check = async (p: Promise<unknown>, cls: ErrorClass, type: string): Promise<APIError> => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      expect((err as APIError).error).toMatchObject({ type: 'error', error: { type, message: expect.any(String) } });
      expect((err as APIError).headers?.get('x-should-retry')).toBe(cls === RateLimitError ? 'true' : 'false');
      return err as APIError;
    };
    await check(make(h.url, 'sk-wrong-key-0000').messages.create(params), AuthenticationError, 'authentication_error');
    await check(make(h.url, KEY).messages.create({ ...params, model: 'nope' }), NotFoundError, 'not_found_error');
    const bad = await check(make(h.url, KEY).messages.create({ ...params, max_tokens: undefined as unknown as number }), BadRequestError, 'invalid_request_error');
    expect(bad.message).toContain('max_tokens');
    // Anthropic-only features on a non-Anthropic deployment are refused, naming them.
    const thinking = await check(make(h.url, KEY).messages.create({ ...params, thinking: { type: 'enabled', budget_tokens: 1024 } }), BadRequestError, 'invalid_request_error');
    expect(thinking.message).toContain('thinking');
    await make(h.url, TIGHT_KEY).messages.create(params);
    const limited = await check(make(h.url, TIGHT_KEY).messages.create(params), RateLimitError, 'rate_limit_error');
    expect(Number(limited.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(h.fakes[0]!.stats.requests).toBe(1);
  });

  it.each(['openai', 'anthropic'] as const)('a mid-stream upstream failure (%s) ends the stream with an Anthropic error event the SDK raises', async (dialect) => {
    const h = await setup(dialect);
    h.fakes[0]!.setBehaviour({ chunkIntervalMs: 30 });
    // OpenAI: role chunk, piece 1, cut. Anthropic: message_start, block start, ping, delta 1, cut.
    h.fakes[0]!.enqueue({ kind: 'reset-mid-stream', afterChunks: dialect === 'openai' ? 2 : 4 });
    const texts: string[] = [];
    const stream = make(h.url, KEY).messages.stream(params).on('text', (t) => texts.push(t));
    const err = await stream.finalMessage().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(errors.APIError);
    expect(String((err as APIError).message)).toMatch(/closed the connection/);
    expect(texts.join('')).toBe('one two ');
  });
});

describe('/v1/messages routing by capability', () => {
  it('an Anthropic-only feature skips an OpenAI target and is served by the alias’s Anthropic target', async () => {
    const h = await startHarness({
      fakes: [{ dialect: 'openai', name: 'oa' }, { dialect: 'anthropic', name: 'an', behaviour: { reply: REPLY } }],
      config: ([oa, an]) => ({
        deployments: { oa: deploymentFor(oa!), an: deploymentFor(an!) },
        models: { claude: { strategy: 'priority', targets: [{ deployment: 'oa', model: 'gpt', priority: 0 }, { deployment: 'an', model: 'claude-x', priority: 1 }] } },
      }),
    });
    open.push(h);
    const client = new Anthropic({ baseURL: h.url, apiKey: KEY, maxRetries: 0 });
    const plain = await client.messages.create(params).withResponse();
    expect(plain.response.headers.get('x-gateway-provider')).toBe('oa');
    const thinking = await client.messages.create({ ...params, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 } }).withResponse();
    expect(thinking.response.headers.get('x-gateway-provider')).toBe('an');
    expect(thinking.data.content).toEqual([{ type: 'text', text: REPLY }]);
    expect(h.fakes[1]!.received[0]!.body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 } });
    expect(h.fakes[0]!.stats.requests).toBe(1);
  });
});

describe('/v1/messages at the edge (raw HTTP)', () => {
  it('malformed JSON, a missing key and a wrong method answer in Anthropic shape; other routes keep OpenAI shape', async () => {
    const h = await setup('openai');
    const bad = await chat(h.url, '{"model":', { path: '/v1/messages' });
    expect(bad.status).toBe(400);
    expect(bad.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.any(String) }, request_id: bad.headers['x-gateway-request-id'] });
    expect(bad.headers['request-id']).toBe(bad.headers['x-gateway-request-id']);
    const anon = await chat(h.url, params, { path: '/v1/messages', key: null });
    expect(anon.status).toBe(401);
    expect(anon.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    // The Anthropic SDK sends its key as x-api-key: the message must say that header works here.
    expect((anon.json() as { error: { message: string } }).error.message).toMatch(/x-api-key/);
    const openaiAnon = await chat(h.url, { model: 'claude', messages: [{ role: 'user', content: 'hi' }] }, { key: null });
    expect(openaiAnon.status).toBe(401);
    expect((openaiAnon.json() as { error: { message: string } }).error.message).not.toMatch(/x-api-key/);
    const viaHeader = await chat(h.url, params, { path: '/v1/messages', key: null, headers: { 'x-api-key': KEY } });
    expect(viaHeader.status).toBe(200);
    const get = await chat(h.url, undefined, { path: '/v1/messages', method: 'GET' });
    expect(get.status).toBe(405);
    expect(get.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const openai = await chat(h.url, '{"model":', {});
    expect(openai.json()).toMatchObject({ error: { code: 'invalid_json' } });
  });

  it('an Anthropic stream on the wire: named events, no [DONE], message_stop last', async () => {
    const h = await setup('triton');
    const res = await chat(h.url, { ...params, stream: true }, { path: '/v1/messages' });
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const names = [...res.text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(names[0]).toBe('message_start');
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(res.text).not.toContain('[DONE]');
    expect(res.events().map((d) => (JSON.parse(d) as { type: string }).type)).toEqual(names);
  });
});
