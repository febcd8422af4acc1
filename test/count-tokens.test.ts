/**
 * Token counting over real sockets: `POST /v1/messages/count_tokens` with both Anthropic SDK lines,
 * answered by an Anthropic deployment's own count endpoint (the fake) or by our tokenizer for an
 * OpenAI-protocol deployment; through auth, model authorization and request limits but not
 * budgets; an upstream that fails or hangs; one recorded outcome per request.
 */
import Anthropic, * as sdk1 from '@anthropic-ai/sdk';
import Anthropic0137, * as sdk0137 from 'anthropic-sdk-0137';
import { afterEach, describe, expect, it } from 'vitest';
import { countTextsTokens } from '../src/api/token-count.js';
import type { RequestFinishedEvent } from '../src/observability/events.js';
import { chat, chatBody, deploymentFor, KEY, metric, startHarness, waitUntil, type Harness } from './helpers/harness.js';

const NARROW_KEY = 'sk-test-narrow-0123456789';
const REQ_TIGHT_KEY = 'sk-test-reqtight-0123456789';
const TOKEN_TIGHT_KEY = 'sk-test-toktight-0123456789';
const BROKE_KEY = 'sk-test-broke-0123456789';
const ONE_SLOT_KEY = 'sk-test-oneslot-0123456789';
const UPSTREAM_KEY = 'sk-ant-upstream-0123456789';
const PATH = '/v1/messages/count_tokens';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

interface Setup {
  readonly timeouts?: Record<string, number>;
  readonly anthropicLatencyMs?: number;
  /** The key the gateway sends to the Anthropic fake (default: the one it expects). */
  readonly upstreamKey?: string;
}

/** `claude` on the Anthropic fake (priced), `gpt` on the OpenAI fake; every finished request collected. */
async function setup(options: Setup = {}): Promise<{ h: Harness; events: RequestFinishedEvent[] }> {
  const events: RequestFinishedEvent[] = [];
  const h = await startHarness({
    env: { ANT_KEY: options.upstreamKey ?? UPSTREAM_KEY },
    fakes: [
      { dialect: 'anthropic', apiKey: UPSTREAM_KEY, models: ['served-claude'], behaviour: { latencyMs: options.anthropicLatencyMs ?? 0 } },
      { dialect: 'openai', behaviour: { reply: 'ok done' } },
      { dialect: 'gemini', models: ['served-gemini'] },
    ],
    eventSinks: [{ requestFinished: (e) => void events.push(e) }],
    config: ([anthropic, openai, gemini]) => ({
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      deployments: { ant: deploymentFor(anthropic!, { apiKey: '${env:ANT_KEY}' }), oai: deploymentFor(openai!), gem: deploymentFor(gemini!) },
      models: {
        claude: { targets: [{ deployment: 'ant', model: 'served-claude', price: { input: 3, output: 15 } }] },
        gpt: { targets: [{ deployment: 'oai', model: 'served-gpt', price: { input: 3, output: 15 } }] },
        gem: { targets: [{ deployment: 'gem', model: 'served-gemini' }] },
      },
      tenants: {
        main: { keys: [KEY], models: ['*'] },
        narrow: { keys: [NARROW_KEY], models: ['gpt'] },
        reqTight: { keys: [REQ_TIGHT_KEY], models: ['*'], limits: { requests: { capacity: 2, refillPerSecond: 0.001 } } },
        tokenTight: { keys: [TOKEN_TIGHT_KEY], models: ['*'], limits: { tokens: { capacity: 60, refillPerSecond: 0.001 } } },
        broke: { keys: [BROKE_KEY], models: ['*'], budgets: [{ period: 'daily', limitUsd: '0.0000001' }] },
        oneSlot: { keys: [ONE_SLOT_KEY], models: ['*'], concurrency: { maxInFlight: 1 } },
      },
    }),
  });
  open.push(h);
  return { h, events };
}

/** Each SDK line has its own error classes. */
type ErrorClass = abstract new (...args: never[]) => Error;
interface Classes { AuthenticationError: ErrorClass; PermissionDeniedError: ErrorClass; NotFoundError: ErrorClass; BadRequestError: ErrorClass }

const lines = [
  { line: '@anthropic-ai/sdk 1.13.0 (Bearer)', make: (baseURL: string, apiKey: string) => new Anthropic({ baseURL, apiKey, maxRetries: 0, timeout: 10_000 }), errors: sdk1 as unknown as Classes },
  { line: 'anthropic-sdk 0.137.0 (x-api-key)', make: (baseURL: string, apiKey: string) => new Anthropic0137({ baseURL, apiKey, maxRetries: 0, timeout: 10_000 }) as unknown as Anthropic, errors: sdk0137 as unknown as Classes },
];

const weather = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };
const params = { model: 'claude', system: 'Be brief please.', messages: [{ role: 'user' as const, content: 'Count these five words.' }], tools: [weather] };
/** What the Anthropic fake counts for `params`: words of the system prompt and the messages. */
const fakeCount = 3 + 4;
/** What our tokenizer counts for `params`: framing (3 + 3 per message), texts, the tools as chat JSON. */
function tokenizerCount(): number {
  const tools = [{ type: 'function', function: { name: weather.name, parameters: weather.input_schema, description: weather.description } }];
  return 3 + 3 * 2 + countTextsTokens([params.system, params.messages[0]!.content, JSON.stringify(tools)]);
}

async function post(h: Harness, body: unknown, key: string | null = KEY, signal?: AbortSignal) {
  return chat(h.url, body, { key, path: PATH, ...(signal ? { signal } : {}) });
}

describe.each(lines)('$line → messages.countTokens', ({ make, errors }) => {
  it('an Anthropic deployment counts with its own endpoint: the body as sent, without max_tokens, model replaced', async () => {
    const { h } = await setup();
    const { data, response } = await make(h.url, KEY).messages.countTokens(params, { headers: { 'anthropic-beta': 'token-counting-2024-11-01' } }).withResponse();
    expect(data).toEqual({ input_tokens: fakeCount });
    expect(response.headers.get('x-gateway-token-count')).toBe('upstream');
    expect(response.headers.get('x-gateway-provider')).toBe('ant');
    expect(response.headers.get('request-id')).toBe(response.headers.get('x-gateway-request-id'));
    const got = h.fakes[0]!.received;
    expect(got.map((r) => r.path)).toEqual(['/v1/messages/count_tokens']);
    expect(got[0]!.body).toEqual({ ...params, model: 'served-claude' });
    expect(got[0]!.headers['anthropic-beta']).toBe('token-counting-2024-11-01');
    expect(got[0]!.headers['x-api-key']).toBe(UPSTREAM_KEY);
  });

  it('an OpenAI-protocol deployment: our tokenizer counts, and the answer says it is an estimate', async () => {
    const { h } = await setup();
    const { data, response } = await make(h.url, KEY).messages.countTokens({ ...params, model: 'gpt' }).withResponse();
    expect(data).toEqual({ input_tokens: tokenizerCount() });
    expect(response.headers.get('x-gateway-token-count')).toBe('estimate');
    expect(response.headers.get('x-gateway-provider')).toBeNull();
    // Nothing went upstream: the OpenAI fake has no count endpoint.
    expect(h.fakes[1]!.received).toEqual([]);
  });

  it("a Gemini deployment counts with :countTokens, the request translated (system, contents, tools)", async () => {
    const { h } = await setup();
    const { data, response } = await make(h.url, KEY).messages.countTokens({ ...params, model: 'gem' }).withResponse();
    // The Gemini fake counts words, plus one per content: 3 (system) + 4 + 1.
    expect(data).toEqual({ input_tokens: 8 });
    expect(response.headers.get('x-gateway-token-count')).toBe('upstream');
    expect(response.headers.get('x-gateway-provider')).toBe('gem');
    const got = h.fakes[2]!.received;
    expect(got.map((r) => r.path)).toEqual(['/v1beta/models/served-gemini:countTokens']);
    expect(got[0]!.body).toMatchObject({
      generateContentRequest: {
        model: 'models/served-gemini',
        systemInstruction: { parts: [{ text: params.system }] },
        contents: [{ role: 'user', parts: [{ text: params.messages[0]!.content }] }],
        tools: [{ functionDeclarations: [{ name: 'get_weather' }] }],
      },
    });
    // What only Anthropic can express (a server tool) is not sent for counting: the tokenizer estimates.
    const server = await make(h.url, KEY).messages.countTokens({ ...params, model: 'gem', tools: [{ type: 'web_search_20250305', name: 'web_search' } as never] }).withResponse();
    expect(server.response.headers.get('x-gateway-token-count')).toBe('estimate');
    expect(h.fakes[2]!.received).toHaveLength(1);
  });

  it('errors in Anthropic shape through the SDK classes: 401, 403, 404, 400', async () => {
    const { h } = await setup();
    const unauth = await make(h.url, 'sk-wrong-0123456789').messages.countTokens(params).then(() => ({ status: 200, error: undefined }), (e: unknown) => e as { status: number; error: unknown });
    expect(unauth).toBeInstanceOf(errors.AuthenticationError);
    expect(unauth.status).toBe(401);
    expect(unauth.error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const forbidden = await make(h.url, NARROW_KEY).messages.countTokens(params).then(() => ({ status: 200, error: undefined }), (e: unknown) => e as { status: number; error: unknown });
    expect(forbidden).toBeInstanceOf(errors.PermissionDeniedError);
    expect(forbidden.status).toBe(403);
    expect(forbidden.error).toMatchObject({ type: 'error', error: { type: 'permission_error', message: expect.stringContaining("'claude'") } });
    const unknown = await make(h.url, KEY).messages.countTokens({ ...params, model: 'nope' }).then(() => ({ status: 200 }), (e: unknown) => e as { status: number });
    expect(unknown).toBeInstanceOf(errors.NotFoundError);
    expect(unknown.status).toBe(404);
    const bad = await make(h.url, KEY).messages.countTokens({ ...params, messages: [] }).then(() => ({ status: 200, error: { error: { message: '' } } }), (e: unknown) => e as { status: number; error: { error: { message: string } } });
    expect(bad).toBeInstanceOf(errors.BadRequestError);
    expect(bad.status).toBe(400);
    expect(bad.error.error.message).toContain('messages');
    expect(h.fakes[0]!.received).toEqual([]);
  });
});

describe('/v1/messages/count_tokens: admission', () => {
  it('bad bodies: 400 in Anthropic shape naming the parameter, nothing sent upstream', async () => {
    const { h } = await setup();
    const cases: Array<[unknown, string]> = [
      [{ ...params, max_tokens: 100 }, 'max_tokens'],
      [{ ...params, stream: true }, 'stream'],
      [{ system: 'x', messages: params.messages }, 'model'],
      [{ model: 'claude' }, 'messages'],
      [{ ...params, messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
      [{ ...params, messages: [{ role: 'assistant', content: [{ type: 'tool_use', name: 'x', input: {} }] }] }, 'messages[0].content[0].id'],
    ];
    for (const [body, param] of cases) {
      const res = await post(h, body);
      expect(res.status, param).toBe(400);
      expect(res.json(), param).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining(param) } });
    }
    expect((await post(h, '{"model":')).status).toBe(400);
    expect(h.fakes[0]!.received).toEqual([]);
  });

  it('counts as a request against the request limit (429 with Retry-After), reserves no tokens', async () => {
    const { h } = await setup();
    // Two requests on claude fit the bucket: a count and then a chat; the third (a count) is refused.
    const first = await post(h, params, REQ_TIGHT_KEY);
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-remaining-requests']).toBe('1');
    const between = await chat(h.url, chatBody('claude', { max_tokens: 50 }), { key: REQ_TIGHT_KEY });
    expect(between.status, between.text).toBe(200);
    const limited = await post(h, params, REQ_TIGHT_KEY);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    // A 60-token bucket: a chat reserving more is refused, counts go through (and take nothing from it).
    expect((await chat(h.url, chatBody('gpt', { max_tokens: 100 }), { key: TOKEN_TIGHT_KEY })).status).toBe(400);
    for (let i = 0; i < 3; i++) expect((await post(h, params, TOKEN_TIGHT_KEY)).status).toBe(200);
    const fits = await chat(h.url, chatBody('gpt', { max_tokens: 2 }), { key: TOKEN_TIGHT_KEY });
    expect(fits.status, fits.text).toBe(200);
  });

  it('a team over its budget may still count', async () => {
    const { h } = await setup();
    const refused = await chat(h.url, chatBody('claude', { max_tokens: 50 }), { key: BROKE_KEY, path: '/v1/messages', headers: { 'anthropic-version': '2023-06-01' } });
    expect(refused.status).toBe(429);
    expect(refused.json().error.message).toMatch(/[Bb]udget/);
    const counted = await post(h, params, BROKE_KEY);
    expect(counted.status).toBe(200);
    expect(counted.json()).toEqual({ input_tokens: fakeCount });
  });

  it('holds a concurrency slot while it runs', async () => {
    // Long enough that the count is still upstream when the chat below is refused, on any machine.
    const { h } = await setup({ anthropicLatencyMs: 3_000 });
    const counting = post(h, params, ONE_SLOT_KEY);
    // The count holds its slot from admission until it answers: once the upstream has it, it is held.
    await waitUntil(() => h.fakes[0]!.received.some((r) => r.path === '/v1/messages/count_tokens'));
    const during = await chat(h.url, chatBody('gpt'), { key: ONE_SLOT_KEY });
    expect(during.status).toBe(429);
    expect(during.json().error.code).toBe('concurrency_limit_exceeded');
    expect((await counting).status).toBe(200);
    // Given back when the count ended.
    expect((await chat(h.url, chatBody('gpt'), { key: ONE_SLOT_KEY })).status).toBe(200);
  });
});

describe('/v1/messages/count_tokens: upstream failures and outcomes', () => {
  it('an upstream count that fails (its 401) is answered by the tokenizer, marked an estimate; the attempt is logged', async () => {
    const { h, events } = await setup({ upstreamKey: 'sk-ant-wrong-0123456789' });
    const res = await post(h, params);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ input_tokens: tokenizerCount() });
    expect(res.headers['x-gateway-token-count']).toBe('estimate');
    expect(h.fakes[0]!.received).toHaveLength(1);
    const e = events.find((x) => x.route === PATH)!;
    expect(e).toMatchObject({ outcome: 'success', status: 200, attempts: 1, deployment: undefined });
    expect(e.attemptLog).toEqual([expect.objectContaining({ deployment: 'ant', status: 401, outcome: expect.not.stringMatching(/^success$/) })]);
  });

  it("an upstream that does not answer within the deployment's first-byte timeout: the tokenizer answers", async () => {
    const { h } = await setup({ anthropicLatencyMs: 5_000, timeouts: { firstByteMs: 200, totalMs: 3_000 } });
    const started = Date.now();
    const res = await post(h, params);
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-token-count']).toBe('estimate');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('an upstream that hangs past the request deadline: 504, recorded once as a timeout', async () => {
    const { h, events } = await setup({ anthropicLatencyMs: 5_000, timeouts: { firstByteMs: 4_000, totalMs: 300 } });
    const started = Date.now();
    const res = await post(h, params);
    expect(res.status).toBe(504);
    expect(res.json()).toMatchObject({ type: 'error', error: { message: expect.stringContaining('deadline') } });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(events.filter((e) => e.route === PATH)).toEqual([expect.objectContaining({ outcome: 'timeout', status: 504 })]);
  });

  it('a client that leaves mid-count is recorded once as a disconnect', async () => {
    const { h, events } = await setup({ anthropicLatencyMs: 2_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    await expect(post(h, params, KEY, controller.signal)).rejects.toThrow();
    await expect.poll(() => events.filter((e) => e.route === PATH).length, { timeout: 3_000 }).toBe(1);
    expect(events.find((e) => e.route === PATH)).toMatchObject({ outcome: 'client_disconnect' });
  });

  it('one recorded outcome per request, in the request metrics; none in the GenAI chat instruments', async () => {
    const { h, events } = await setup();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const traced = await chat(h.url, params, { path: PATH, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(events.find((e) => e.requestId === traced.headers['x-gateway-request-id'])?.traceId).toBe(traceId);
    events.length = 0;
    const results = [await post(h, params), await post(h, { ...params, model: 'gpt' }), await post(h, params, null), await post(h, params, NARROW_KEY), await post(h, { model: 'claude' })];
    expect(results.map((r) => r.status)).toEqual([200, 200, 401, 403, 400]);
    const ids = results.map((r) => r.headers['x-gateway-request-id']);
    const recorded = events.filter((e) => e.route === PATH);
    expect(recorded.map((e) => e.requestId).sort()).toEqual([...ids].sort());
    expect(recorded.every((e) => e.operation === undefined && e.usage === undefined && e.costPico === undefined)).toBe(true);
    expect(await metric(h.url, 'gateway_requests_total', { route: PATH, outcome: 'success' })).toBe(3);
    expect(await metric(h.url, 'gateway_requests_total', { route: PATH, outcome: 'auth_error' })).toBe(2);
    expect(await metric(h.url, 'gateway_requests_total', { route: PATH, outcome: 'client_error' })).toBe(1);
    expect(await metric(h.url, 'gen_ai_server_request_duration_seconds_count', { gen_ai_operation_name: 'chat' })).toBe(0);
  });
});
