/**
 * The official `openai` client (6.49) on `/v1/responses` against a deployment of every provider
 * type the gateway speaks: OpenAI and Azure serving the Responses API themselves (native), and
 * OpenAI-compatible, Azure (old api-version), Anthropic, Gemini, Ollama, Bedrock and Triton
 * through the chat translation. One gateway per provider, shared by its tests. Covered: create
 * (text, `output_text`, usage, our `resp_` id, the alias as model, `_request_id`), the
 * `responses.stream()` helpers, a function call answered with `function_call_output` (full
 * history, and `previous_response_id`), `previous_response_id` continuation, `responses.parse()`
 * with zod (or the 400 naming `text.format`), the SDK's error classes, and a stream cut after
 * content surfacing as an error. Every body and event the SDK receives is checked against the
 * spec's `Response` / `ResponseStreamEvent` / `ErrorResponse`.
 */
import OpenAI, { APIError, AuthenticationError, BadRequestError, NotFoundError, PermissionDeniedError, RateLimitError } from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import type { ResponseInputItem, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FAKE_AWS_ACCESS_KEY_ID } from '../src/testing/fake-upstream/bedrock-dialect.js';
import type { FakeUpstream, FakeUpstreamOptions } from '../src/testing/fake-upstream/fake-upstream.js';
import { contentCompletion, toolCallCompletion } from './helpers/chat-completions.js';
import { KEY, sseData, startHarness, type Harness } from './helpers/harness.js';
import { specErrors } from './helpers/openai-spec.js';
import { openAiStreamBytes } from './helpers/recorded.js';

type Json = Record<string, any>;

const REPLY = 'The weather in Paris is sunny today.';
const LIMITED_KEY = 'sk-test-limited-0123456789';
const TIGHT_KEY = 'sk-test-tight-0123456789';
const SECRET = 'provider-secret-0123456789abcdef';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What our function returns; looked for in what the upstream receives on the second turn. */
const TOOL_OUTPUT = 'SUNNY_21C_IN_PARIS';
const WEATHER_JSON = '{"city":"Paris","temperature_c":21}';
/** A recorded gpt-4o chat stream with two parallel tool calls. */
const PARALLEL_TOOLS = 'f82268f2fefd5cfbc7eeb59c297688be2f6ca0849a6e4f17851b517310841d9b.sse';
const Weather = z.object({ city: z.string(), temperature_c: z.number() });

const tools = [
  {
    type: 'function' as const,
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
    strict: true,
  },
];

/** How a provider's fake is made to answer with a function call or with JSON. */
type Scripted =
  /** The fake does it on its own (a forced tool, a schema it fills in). */
  | 'self'
  /** The fake answers with its behaviour's reply text (set to the JSON for the test). */
  | 'reply'
  /** A recorded-shape chat completion is enqueued (the OpenAI chat fake never calls tools). */
  | 'chat-completion'
  /** The provider cannot express it: a 400 naming the parameter. */
  | { refused: string };

interface ProviderCase {
  readonly name: string;
  readonly native: boolean;
  readonly fake: FakeUpstreamOptions;
  readonly deployment: (fake: FakeUpstream) => Json;
  readonly model: string;
  readonly tools: Scripted;
  /** The first tool turn's tool_choice (default 'required'; Ollama has only auto and none, and calls when offered tools). */
  readonly toolChoice?: 'auto';
  readonly structured: Scripted;
  /** Stream chunks (as the fake counts them) before the cut: past the first text content. */
  readonly cutAfter: number;
  /** A parameter the deployment cannot carry, and the param the 400 names. */
  readonly untranslatable: [Json, string];
}

const origin = (fake: FakeUpstream): string => fake.baseUrl.replace(/\/v1$/, '');
const translatedRefusal: [Json, string] = [{ tools: [{ type: 'web_search' }] }, 'tools[0]'];

const CASES: readonly ProviderCase[] = [
  {
    name: 'openai (native Responses API)',
    native: true,
    fake: { dialect: 'openai' },
    deployment: (f) => ({ provider: 'openai', baseUrl: f.baseUrl, responsesApi: true }),
    model: 'served-model',
    tools: 'self',
    structured: 'reply',
    cutAfter: 5,
    // Built-in tools pass through natively; what is refused everywhere is a background job.
    untranslatable: [{ background: true }, 'background'],
  },
  {
    name: 'openai at a non-vendor host (translated)',
    native: false,
    fake: { dialect: 'openai' },
    deployment: (f) => ({ provider: 'openai', baseUrl: f.baseUrl }),
    model: 'served-model',
    tools: 'chat-completion',
    structured: 'chat-completion',
    cutAfter: 2,
    untranslatable: translatedRefusal,
  },
  {
    name: 'vllm (translated)',
    native: false,
    fake: { dialect: 'openai' },
    deployment: (f) => ({ provider: 'vllm', baseUrl: f.baseUrl }),
    model: 'served-model',
    tools: 'chat-completion',
    structured: 'chat-completion',
    cutAfter: 2,
    untranslatable: translatedRefusal,
  },
  {
    name: 'azure v1 surface (native Responses API)',
    native: true,
    fake: { dialect: 'openai', apiKey: SECRET, models: ['my-deploy'] },
    deployment: (f) => ({ provider: 'azure', baseUrl: `${origin(f)}/openai/v1`, apiKey: '${env:PROVIDER_KEY}' }),
    model: 'my-deploy',
    tools: 'self',
    structured: 'reply',
    cutAfter: 5,
    untranslatable: [{ background: true }, 'background'],
  },
  {
    name: 'azure api-version 2024-10-21 (translated)',
    native: false,
    fake: { dialect: 'openai', apiKey: SECRET },
    deployment: (f) => ({ provider: 'azure', baseUrl: `${origin(f)}/openai`, apiVersion: '2024-10-21', apiKey: '${env:PROVIDER_KEY}' }),
    model: 'served-model',
    tools: 'chat-completion',
    structured: 'chat-completion',
    cutAfter: 2,
    untranslatable: translatedRefusal,
  },
  {
    name: 'anthropic',
    native: false,
    fake: { dialect: 'anthropic', apiKey: SECRET },
    deployment: (f) => ({ provider: 'anthropic', baseUrl: f.baseUrl, apiKey: '${env:PROVIDER_KEY}' }),
    model: 'claude-sonnet-4-5',
    tools: 'self',
    structured: 'self',
    cutAfter: 4,
    untranslatable: translatedRefusal,
  },
  {
    name: 'gemini',
    native: false,
    fake: { dialect: 'gemini', apiKey: SECRET },
    deployment: (f) => ({ provider: 'gemini', baseUrl: f.baseUrl, apiKey: '${env:PROVIDER_KEY}' }),
    model: 'gemini-2.5-flash',
    tools: 'self',
    structured: 'self',
    cutAfter: 1,
    untranslatable: translatedRefusal,
  },
  {
    name: 'ollama',
    native: false,
    fake: { dialect: 'ollama' },
    deployment: (f) => ({ provider: 'ollama', baseUrl: f.baseUrl }),
    model: 'llama3.2',
    tools: 'self',
    toolChoice: 'auto',
    structured: 'self',
    cutAfter: 1,
    untranslatable: translatedRefusal,
  },
  {
    name: 'bedrock',
    native: false,
    fake: { dialect: 'bedrock', apiKey: SECRET },
    deployment: (f) => ({
      provider: 'bedrock',
      baseUrl: f.baseUrl,
      aws: { region: 'us-east-1', accessKeyId: '${env:AWS_ACCESS_KEY_ID}', secretAccessKey: '${env:AWS_SECRET_ACCESS_KEY}' },
    }),
    model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
    tools: 'self',
    structured: 'reply',
    cutAfter: 3,
    untranslatable: translatedRefusal,
  },
  {
    name: 'triton',
    native: false,
    fake: { dialect: 'triton' },
    deployment: (f) => ({ provider: 'triton', baseUrl: f.baseUrl }),
    model: 'served-model',
    tools: { refused: 'tools' },
    structured: { refused: 'text.format' },
    cutAfter: 1,
    untranslatable: translatedRefusal,
  },
];

/** Everything the SDK received, as the gateway sent it (before the SDK's helpers touched it). */
interface Seen {
  readonly bodies: Array<Promise<{ status: number; contentType: string; text: string }>>;
}

/** Every JSON body and stream event received so far is valid against the spec; returns the events of the streams. */
async function expectSpecValid(seen: Seen): Promise<Json[]> {
  const received = await Promise.all(seen.bodies.splice(0));
  const events: Json[] = [];
  for (const { status, contentType, text } of received) {
    if (contentType.startsWith('text/event-stream')) {
      const evs = sseData(text).map((d) => JSON.parse(d) as Json);
      evs.forEach((e, i) => {
        expect(e.sequence_number, e.type).toBe(i);
        expect(specErrors('ResponseStreamEvent', e), `${e.type}: ${JSON.stringify(e).slice(0, 300)}`).toEqual([]);
      });
      events.push(...evs);
    } else {
      const body = JSON.parse(text) as Json;
      const schema = status === 200 ? 'Response' : 'ErrorResponse';
      expect(specErrors(schema, body), `${schema}: ${text.slice(0, 300)}`).toEqual([]);
    }
  }
  return events;
}

/** The rejection of `fn` (which must reject). */
async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  return fn().then(
    () => {
      throw new Error('expected the SDK call to fail');
    },
    (e: unknown) => e,
  );
}

async function apiError<T extends APIError>(fn: () => Promise<unknown>, cls: abstract new (...args: never[]) => T): Promise<T> {
  const err = await rejection(fn);
  expect(err).toBeInstanceOf(cls);
  const apiErr = err as T;
  expect(apiErr.headers?.get('x-gateway-request-id')).toMatch(UUID);
  // The SDK's own request id on its errors (read from x-request-id) is ours.
  expect(apiErr.requestID).toBe(apiErr.headers?.get('x-gateway-request-id'));
  return apiErr;
}

describe.each(CASES)('openai SDK responses API, $name', (pc) => {
  let h: Harness;
  let fake: FakeUpstream;
  const seen: Seen = { bodies: [] };
  const client = (key = KEY): OpenAI =>
    new OpenAI({
      baseURL: `${h.url}/v1`,
      apiKey: key,
      maxRetries: 0,
      timeout: 15_000,
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        const copy = res.clone();
        seen.bodies.push(copy.text().then((text) => ({ status: res.status, contentType: res.headers.get('content-type') ?? '', text })));
        return res;
      },
    });

  beforeAll(async () => {
    h = await startHarness({
      fakes: [{ ...pc.fake, behaviour: { reply: REPLY, chunks: 4 } }],
      env: { PROVIDER_KEY: SECRET, AWS_ACCESS_KEY_ID: FAKE_AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
      config: ([f]) => {
        const target = { deployment: 'd', model: pc.model, defaultMaxTokens: 256 };
        return {
          deployments: { d: pc.deployment(f!) },
          models: { chat: { targets: [target] }, private: { targets: [target] } },
          tenants: {
            main: { keys: [KEY], models: ['*'] },
            limited: { keys: [LIMITED_KEY], models: ['chat'] },
            tight: { keys: [TIGHT_KEY], models: ['*'], limits: { requests: { capacity: 1, refillPerSecond: 0.001 } } },
          },
        };
      },
    });
    fake = h.fakes[0]!;
  }, 30_000);
  afterAll(() => h?.close());
  // What a failed test left unchecked is not the next test's.
  beforeEach(() => void seen.bodies.splice(0));

  it('create: output_text, usage, our resp_ id, the alias as model, _request_id; spec-valid', async () => {
    const { data, response, request_id } = await client().responses.create({ model: 'chat', input: 'What is the weather in Paris?', instructions: 'Be brief.' }).withResponse();
    expect(data.output_text).toBe(REPLY);
    expect(data.id).toMatch(/^resp_[0-9a-f]{16,}$/);
    expect(data).toMatchObject({ object: 'response', model: 'chat', status: 'completed', instructions: 'Be brief.' });
    expect(data.usage!.input_tokens).toBeGreaterThan(0);
    expect(data.usage!.output_tokens).toBeGreaterThan(0);
    expect(data.usage!.total_tokens).toBe(data.usage!.input_tokens + data.usage!.output_tokens);
    const requestId = response.headers.get('x-gateway-request-id');
    expect(requestId).toMatch(UUID);
    // The SDK's request id (x-request-id) is ours.
    expect(request_id).toBe(requestId);
    expect(fake.received.at(-1)!.path).toMatch(pc.native ? /\/responses$/ : /./);
    if (!pc.native) expect(fake.received.at(-1)!.path).not.toMatch(/\/responses$/);
    await expectSpecValid(seen);
  });

  it('stream(): output_text delta events with snapshots, finalResponse(), every event spec-valid', async () => {
    const stream = client().responses.stream({ model: 'chat', input: 'What is the weather in Paris?' });
    const deltas: string[] = [];
    const snapshots: string[] = [];
    const types: string[] = [];
    stream.on('event', (e: ResponseStreamEvent) => types.push(e.type));
    stream.on('response.output_text.delta', (e) => {
      deltas.push(e.delta);
      snapshots.push(e.snapshot);
    });
    let doneText: string | undefined;
    stream.on('response.output_text.done', (e) => (doneText = e.text));
    const final = await stream.finalResponse();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(REPLY);
    expect(snapshots.at(-1)).toBe(REPLY);
    expect(doneText).toBe(REPLY);
    expect(final.output_text).toBe(REPLY);
    expect(final).toMatchObject({ model: 'chat', status: 'completed' });
    expect(final.id).toMatch(/^resp_/);
    expect(final.usage!.output_tokens).toBeGreaterThan(0);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    const events = await expectSpecValid(seen);
    expect(new Set(events.filter((e) => e.response).map((e) => e.response.id))).toEqual(new Set([final.id]));
  });

  it('previous_response_id: the second turn continues the first (stored by the gateway)', async () => {
    const first = await client().responses.create({ model: 'chat', input: 'Remember the word PELICAN.' });
    const second = await client().responses.create({ model: 'chat', input: 'Which word did I ask you to remember?', previous_response_id: first.id });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe(REPLY);
    expect(first._request_id).toMatch(UUID);
    expect(second._request_id).not.toBe(first._request_id);
    const sent = JSON.stringify(fake.received.at(-1)!.body);
    expect(sent).toContain('PELICAN');
    expect(sent).toContain('Which word did I ask you to remember?');
    expect(sent.indexOf('PELICAN')).toBeLessThan(sent.indexOf('Which word'));
    expect(sent).not.toContain('previous_response_id');
    await expectSpecValid(seen);
  });

  async function firstToolTurn(): Promise<OpenAI.Responses.Response> {
    if (pc.tools === 'chat-completion') fake.enqueue({ kind: 'status', status: 200, body: toolCallCompletion() });
    return client().responses.create({ model: 'chat', input: 'What is the weather in Paris?', tools, tool_choice: pc.toolChoice ?? 'required' });
  }

  function callOf(r: OpenAI.Responses.Response): OpenAI.Responses.ResponseFunctionToolCall {
    const call = r.output.find((i) => i.type === 'function_call');
    expect(call, JSON.stringify(r.output)).toBeDefined();
    if (call?.type !== 'function_call') throw new Error('no function_call');
    expect(call.name).toBe('get_weather');
    expect(call.call_id).not.toBe('');
    // Each fake fills the schema its own way (Bedrock's sends its reply text): an object.
    expect(JSON.parse(call.arguments)).toBeTypeOf('object');
    return call;
  }

  it('tools: a function_call, answered with function_call_output in the full input history, then text', async () => {
    if (typeof pc.tools === 'object') {
      const err = await apiError(() => client().responses.create({ model: 'chat', input: 'Weather?', tools }), BadRequestError);
      expect([err.status, err.code, err.param]).toEqual([400, 'unsupported_parameter', pc.tools.refused]);
      await expectSpecValid(seen);
      return;
    }
    const first = await firstToolTurn();
    const call = callOf(first);
    const input: ResponseInputItem[] = [
      { role: 'user', content: 'What is the weather in Paris?' },
      ...(first.output as ResponseInputItem[]),
      { type: 'function_call_output', call_id: call.call_id, output: TOOL_OUTPUT },
    ];
    const second = await client().responses.create({ model: 'chat', input, tools, store: false });
    expect(second.output_text).toBe(REPLY);
    expect((second as Json).store).toBe(false);
    const sent = JSON.stringify(fake.received.at(-1)!.body);
    expect(sent).toContain(TOOL_OUTPUT);
    expect(sent.indexOf('get_weather')).toBeLessThan(sent.lastIndexOf(TOOL_OUTPUT));
    await expectSpecValid(seen);
  });

  it('tools: a function_call, answered with function_call_output and previous_response_id, then text', async () => {
    if (typeof pc.tools === 'object') {
      const err = await apiError(() => client().responses.stream({ model: 'chat', input: 'Weather?', tools }).finalResponse(), BadRequestError);
      expect([err.status, err.code, err.param]).toEqual([400, 'unsupported_parameter', pc.tools.refused]);
      return;
    }
    const first = await firstToolTurn();
    const call = callOf(first);
    const stream = client().responses.stream({ model: 'chat', previous_response_id: first.id, tools, input: [{ type: 'function_call_output', call_id: call.call_id, output: TOOL_OUTPUT }] });
    const second = await stream.finalResponse();
    expect(second.output_text).toBe(REPLY);
    expect(second.previous_response_id).toBe(first.id);
    const sent = JSON.stringify(fake.received.at(-1)!.body);
    // The gateway expanded the stored turn: the question, the call, then our output.
    expect(sent).toContain('What is the weather in Paris?');
    expect(sent.indexOf('What is the weather in Paris?')).toBeLessThan(sent.lastIndexOf(TOOL_OUTPUT));
    if (pc.native) {
      const items = (fake.received.at(-1)!.body as Json).input as Json[];
      expect(items.map((i) => i.type ?? 'message')).toEqual(['message', 'function_call', 'function_call_output']);
      expect(items[1]).toMatchObject({ call_id: call.call_id, name: 'get_weather' });
    }
    await expectSpecValid(seen);
  });

  it('stream(): a function call streamed as argument deltas (with snapshots) ends as the final function_call items', async () => {
    if (typeof pc.tools === 'object') {
      const err = await apiError(() => client().responses.stream({ model: 'chat', input: 'Weather?', tools, tool_choice: 'required' }).finalResponse(), BadRequestError);
      expect([err.status, err.code, err.param]).toEqual([400, 'unsupported_parameter', pc.tools.refused]);
      return;
    }
    // The OpenAI chat fake never calls tools: a recorded gpt-4o stream with two parallel calls.
    if (pc.tools === 'chat-completion') fake.enqueue({ kind: 'replay', body: openAiStreamBytes(PARALLEL_TOOLS), contentType: 'text/event-stream', pieceBytes: 64 });
    const stream = client().responses.stream({ model: 'chat', input: 'What is the weather in Paris?', tools, tool_choice: pc.toolChoice ?? 'required' });
    const snapshots = new Map<string, string>();
    const done = new Map<string, string>();
    stream.on('response.function_call_arguments.delta', (e) => snapshots.set(e.item_id, e.snapshot));
    stream.on('response.function_call_arguments.done', (e) => done.set(e.item_id, e.arguments));
    const final = await stream.finalResponse();
    const calls = final.output.filter((i) => i.type === 'function_call');
    expect(calls.length).toBe(pc.tools === 'chat-completion' ? 2 : 1);
    for (const call of calls) {
      expect(call.status).toBe('completed');
      expect(JSON.parse(call.arguments)).toBeTypeOf('object');
      expect(snapshots.get(call.id!)).toBe(call.arguments);
      expect(done.get(call.id!)).toBe(call.arguments);
    }
    if (pc.tools !== 'chat-completion') expect(calls[0]!.name).toBe('get_weather');
    await expectSpecValid(seen);
  });

  it('parse() with zodTextFormat (zod 4): output_parsed, or the 400 naming text.format', async () => {
    const call = () => client().responses.parse({ model: 'chat', input: 'Weather in Paris as JSON.', text: { format: zodTextFormat(Weather, 'weather') } });
    if (typeof pc.structured === 'object') {
      const err = await apiError(call, BadRequestError);
      expect([err.status, err.code, err.param]).toEqual([400, 'unsupported_parameter', pc.structured.refused]);
      expect(fake.stats.requests).toBeGreaterThan(0);
      await expectSpecValid(seen);
      return;
    }
    if (pc.structured === 'chat-completion') fake.enqueue({ kind: 'status', status: 200, body: contentCompletion(WEATHER_JSON) });
    if (pc.structured === 'reply') fake.setBehaviour({ reply: WEATHER_JSON });
    try {
      const res = await call();
      const parsed = Weather.parse(res.output_parsed);
      if (pc.structured !== 'self') expect(parsed).toEqual({ city: 'Paris', temperature_c: 21 });
      // The schema reached the upstream in its own form.
      const sent = JSON.stringify(fake.received.at(-1)!.body);
      expect(sent).toContain('temperature_c');
      expect(res.model).toBe('chat');
    } finally {
      fake.setBehaviour({ reply: REPLY });
    }
    await expectSpecValid(seen);
  });

  it('error classes: 401, 403, 404 (model), 400 (previous_response_id, untranslatable), 429', async () => {
    const before = fake.stats.requests;
    const auth = await apiError(() => client('sk-wrong-key-0123456789').responses.create({ model: 'chat', input: 'x' }), AuthenticationError);
    expect([auth.status, auth.code]).toEqual([401, 'invalid_api_key']);
    expect(auth.message).not.toContain('sk-wrong-key');

    const denied = await apiError(() => client(LIMITED_KEY).responses.create({ model: 'private', input: 'x' }), PermissionDeniedError);
    expect([denied.status, denied.code]).toEqual([403, 'model_not_allowed']);

    const missing = await apiError(() => client().responses.create({ model: 'no-such-model', input: 'x' }), NotFoundError);
    expect([missing.status, missing.code]).toEqual([404, 'model_not_found']);

    // OpenAI's own answer for an unknown previous response is a 400 (not a 404), named.
    const unknown = await apiError(() => client().responses.create({ model: 'chat', input: 'x', previous_response_id: 'resp_0123456789abcdef0123' }), BadRequestError);
    expect([unknown.status, unknown.code, unknown.param]).toEqual([400, 'previous_response_not_found', 'previous_response_id']);

    const [extra, param] = pc.untranslatable;
    const refused = await apiError(() => client().responses.create({ model: 'chat', input: 'x', ...extra } as OpenAI.Responses.ResponseCreateParamsNonStreaming), BadRequestError);
    expect([refused.status, refused.code, refused.param]).toEqual([400, 'unsupported_parameter', param]);

    await client(TIGHT_KEY).responses.create({ model: 'chat', input: 'x' });
    const limited = await apiError(() => client(TIGHT_KEY).responses.create({ model: 'chat', input: 'x' }), RateLimitError);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Only the one admitted request reached the upstream.
    expect(fake.stats.requests).toBe(before + 1);
    await expectSpecValid(seen);
  });

  it('a stream cut after content: finalResponse() rejects with the error event, no silent truncated success', async () => {
    // Chunks apart in time, so the first text commits the stream before the cut.
    fake.setBehaviour({ chunkIntervalMs: 40 });
    fake.enqueue({ kind: 'reset-mid-stream', afterChunks: pc.cutAfter });
    try {
      const stream = client().responses.stream({ model: 'chat', input: 'What is the weather in Paris?' });
      const deltas: string[] = [];
      stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
      const err = (await rejection(() => stream.finalResponse())) as Json;
      expect(deltas.length).toBeGreaterThan(0);
      expect(deltas.join('')).not.toBe(REPLY);
      expect(err).toMatchObject({ type: 'error', param: null });
      expect(err.code).toMatch(/^upstream_/);
      const events = await expectSpecValid(seen);
      expect(events.at(-1)!.type).toBe('error');
      expect(events.some((e) => e.type === 'response.completed')).toBe(false);
    } finally {
      fake.setBehaviour({ chunkIntervalMs: 0 });
    }
  });
});
