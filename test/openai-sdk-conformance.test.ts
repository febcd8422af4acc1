/**
 * The official `openai` client (6.49.0, the Node-20 line) against the running gateway, for
 * every provider the gateway speaks today: tool calls (plain, streamed and assembled by the
 * SDK's helpers, and the runTools loop), `parse()` with a zod schema, embeddings in both
 * encodings, the exception class for each error status, and retries that do not multiply ours.
 * Where a provider cannot do something the SDK must raise BadRequestError naming the parameter.
 */
import OpenAI, { APIError, BadRequestError, ConflictError, InternalServerError, RateLimitError, UnprocessableEntityError } from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { embeddingVector } from '../src/testing/fake-upstream/reply.js';
import { FAKE_EMBEDDING_DIMENSIONS } from '../src/testing/fake-upstream/openai-dialect.js';
import { contentCompletion, toolCallCompletion } from './helpers/chat-completions.js';
import { KEY, startHarness, type Harness } from './helpers/harness.js';
import { openAiStreamBytes, vercelJson } from './helpers/recorded.js';
import { OPENAI_PROTOCOL, PROVIDERS, providerHarness, type Provider } from './helpers/providers.js';

const REPLY = 'The weather tool says it is sunny.';
const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];
/** A recorded gpt-4o stream with two parallel tool calls (get_weather for Edinburgh and New York). */
const PARALLEL_TOOLS = 'f82268f2fefd5cfbc7eeb59c297688be2f6ca0849a6e4f17851b517310841d9b.sse';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

/** The harness plus an SDK client; `calls` counts every HTTP request the SDK makes (its retries included). */
async function setup(provider: Provider, options: { maxRetries?: number; extraConfig?: Record<string, unknown> } = {}) {
  const h = await providerHarness(provider, { reply: REPLY }, options.extraConfig);
  open.push(h);
  const sdk = { calls: 0 };
  const client = (key = KEY) =>
    new OpenAI({
      baseURL: `${h.url}/v1`,
      apiKey: key,
      maxRetries: options.maxRetries ?? 0,
      timeout: 10_000,
      fetch: (input, init) => {
        sdk.calls += 1;
        return fetch(input, init);
      },
    });
  return { h, fake: h.fakes[0]!, client, sdk };
}

const weatherParameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
const tools = [{ type: 'function' as const, function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherParameters } }];

async function rejection(fn: () => Promise<unknown>): Promise<APIError> {
  return fn().then(
    () => {
      throw new Error('expected the SDK call to fail');
    },
    (e: unknown) => e as APIError,
  );
}

async function expectRefused(fn: () => Promise<unknown>, param: string): Promise<void> {
  const err = await rejection(fn);
  expect(err).toBeInstanceOf(BadRequestError);
  expect(err.code).toBe('unsupported_parameter');
  expect(err.param).toBe(param);
}

describe.each(PROVIDERS)('openai SDK, %s deployment: tools and structured output', (provider) => {
  const speaksOpenAi = OPENAI_PROTOCOL.includes(provider);

  it('tool call (non-stream): message.tool_calls as the provider sent them', async () => {
    const { fake, client } = await setup(provider);
    if (!speaksOpenAi) return expectRefused(() => client().chat.completions.create({ model: 'chat', messages, tools }), 'tools');
    fake.enqueue({ kind: 'status', status: 200, body: toolCallCompletion() });
    const res = await client().chat.completions.create({ model: 'chat', messages, tools, tool_choice: 'required' });
    expect(res.choices[0]?.finish_reason).toBe('tool_calls');
    expect(res.choices[0]?.message.tool_calls).toEqual([{ id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    expect(fake.received.at(-1)?.body).toMatchObject({ tools, tool_choice: 'required' });
  });

  it('streamed tool-call deltas assembled by stream() + finalChatCompletion(), with argument events', async () => {
    const { fake, client } = await setup(provider);
    if (!speaksOpenAi) return expectRefused(() => client().chat.completions.stream({ model: 'chat', messages, tools }).finalChatCompletion(), 'tools');
    fake.enqueue({ kind: 'replay', body: openAiStreamBytes(PARALLEL_TOOLS), contentType: 'text/event-stream', pieceBytes: 64 });
    const runner = client().chat.completions.stream({ model: 'chat', messages, tools, stream_options: { include_usage: true } });
    const done: Array<{ name: string; arguments: string }> = [];
    runner.on('tool_calls.function.arguments.done', (e) => done.push({ name: e.name, arguments: e.arguments }));
    const final = await runner.finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const call of calls) {
      expect(call.type).toBe('function');
      if (call.type !== 'function') continue;
      expect(call.id).toMatch(/^call_/);
      expect(JSON.parse(call.function.arguments)).toBeTypeOf('object');
    }
    expect(done.map((d) => d.arguments)).toEqual(calls.map((c) => (c.type === 'function' ? c.function.arguments : '')));
    expect(final.usage?.completion_tokens).toBe(60);
  });

  it('runTools(): the SDK calls our function and sends the tool result back through the gateway', async () => {
    const { fake, client } = await setup(provider);
    const seen: unknown[] = [];
    const run = () =>
      client()
        .chat.completions.runTools({
          model: 'chat',
          messages,
          tools: [
            {
              type: 'function',
              function: {
                name: 'get_weather',
                description: 'Weather for a city',
                parameters: weatherParameters,
                parse: (s: string) => JSON.parse(s) as { city: string },
                function: (args: { city: string }) => {
                  seen.push(args);
                  return { city: args.city, sky: 'sunny' };
                },
              },
            },
          ],
        })
        .finalContent();
    if (!speaksOpenAi) return expectRefused(run, 'tools');
    fake.enqueue({ kind: 'status', status: 200, body: toolCallCompletion() });
    expect(await run()).toBe(REPLY);
    expect(seen).toEqual([{ city: 'Paris' }]);
    const second = fake.received.at(-1)?.body as { messages: Array<Record<string, unknown>> };
    expect(second.messages.at(-2)).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_abc123', function: { name: 'get_weather' } }] });
    expect(second.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_abc123', content: JSON.stringify({ city: 'Paris', sky: 'sunny' }) });
  });

  it('chat.completions.parse() with a zod schema (zodResponseFormat, zod 4)', async () => {
    const { fake, client } = await setup(provider);
    const Weather = z.object({ city: z.string(), temperature_c: z.number() });
    const call = () => client().chat.completions.parse({ model: 'chat', messages, response_format: zodResponseFormat(Weather, 'weather') });
    if (!speaksOpenAi) return expectRefused(call, 'response_format');
    fake.enqueue({ kind: 'status', status: 200, body: contentCompletion('{"city":"Paris","temperature_c":21}') });
    const res = await call();
    expect(res.choices[0]?.message.parsed).toEqual({ city: 'Paris', temperature_c: 21 });
    const sent = fake.received.at(-1)?.body as { response_format: { type: string; json_schema: { name: string; strict: boolean; schema: { properties: object } } } };
    expect(sent.response_format.type).toBe('json_schema');
    expect(sent.response_format.json_schema).toMatchObject({ name: 'weather', strict: true });
    expect(Object.keys(sent.response_format.json_schema.schema.properties)).toEqual(['city', 'temperature_c']);
  });
});

describe.each(PROVIDERS)('openai SDK, %s deployment: embeddings', (provider) => {
  const input = ['first text', 'second text'];
  const expected = input.map((t) => embeddingVector(t, FAKE_EMBEDDING_DIMENSIONS));

  it.each(['base64 (the SDK default)', 'float'] as const)('embeddings in %s encoding decode to the provider vectors', async (encoding) => {
    const { fake, client } = await setup(provider);
    const call = () => client().embeddings.create({ model: 'chat', input, ...(encoding === 'float' ? { encoding_format: 'float' as const } : {}) });
    if (provider === 'triton') return expectRefused(call, 'model');
    const res = await call();
    expect(res.model).toBe('chat');
    expect(res.data.map((d) => d.embedding)).toEqual(expected);
    expect(res.usage.prompt_tokens).toBe(4);
    expect((fake.received.at(-1)?.body as { encoding_format?: string }).encoding_format).toBe(encoding === 'float' ? 'float' : 'base64');
  });
});

describe.each(OPENAI_PROTOCOL)('openai SDK, %s deployment: a server that ignores encoding_format', (provider) => {
  it('recorded float vectors reach the SDK (which asked for base64) as the same float32 values', async () => {
    const { fake, client } = await setup(provider);
    const recorded = vercelJson('openai-embedding.json') as { data: Array<{ embedding: number[] }>; usage: { prompt_tokens: number } };
    fake.enqueue({ kind: 'status', status: 200, body: recorded });
    const res = await client().embeddings.create({ model: 'chat', input: ['a', 'b'] });
    expect(res.data.map((d) => d.embedding)).toEqual(recorded.data.map((d) => d.embedding.map((x) => Math.fround(x))));
    expect(res.usage.prompt_tokens).toBe(recorded.usage.prompt_tokens);
    expect(res.model).toBe('chat');
  });
});

describe.each(['openai', 'triton'] as const)('openai SDK, %s deployment: error classes and retries', (provider) => {
  it.each([
    { status: 409, cls: ConflictError },
    { status: 422, cls: UnprocessableEntityError },
  ])('upstream $status → $cls.name, not retried by the SDK (x-should-retry: false)', async ({ status, cls }) => {
    const { fake, client, sdk } = await setup(provider, { maxRetries: 2 });
    fake.enqueue({ kind: 'status', status });
    const err = await rejection(() => client().chat.completions.create({ model: 'chat', messages }));
    expect(err).toBeInstanceOf(cls);
    expect(err.status).toBe(status);
    expect(err.headers?.get('x-should-retry')).toBe('false');
    expect([sdk.calls, fake.stats.requests]).toEqual([1, 1]);
  });

  it('504 (upstream timeout) and 503 (every deployment open) → InternalServerError, not retried by the SDK', async () => {
    const { fake, client, sdk } = await setup(provider, { maxRetries: 2, extraConfig: { timeouts: { firstByteMs: 150 }, retry: { maxAttempts: 3 } } });
    fake.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'hang' as const })));
    const timeout = await rejection(() => client().chat.completions.create({ model: 'chat', messages }));
    expect(timeout).toBeInstanceOf(InternalServerError);
    expect([timeout.status, timeout.code, timeout.headers?.get('x-should-retry')]).toEqual([504, 'upstream_timeout', 'false']);
    // Three failures opened the breaker: the next request is refused without an upstream call.
    const open = await rejection(() => client().chat.completions.create({ model: 'chat', messages }));
    expect(open).toBeInstanceOf(InternalServerError);
    expect([open.status, open.code, open.headers?.get('x-should-retry')]).toEqual([503, 'no_available_deployment', 'false']);
    expect([sdk.calls, fake.stats.requests]).toEqual([2, 3]);
  });

  it('413 (body over the limit) → APIError with status 413, nothing sent upstream', async () => {
    const { fake, client } = await setup(provider, { maxRetries: 2, extraConfig: { server: { bodyLimitBytes: 4096 } } });
    const err = await rejection(() => client().chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x'.repeat(10_000) }] }));
    expect(err).toBeInstanceOf(APIError);
    expect([err.status, err.code]).toEqual([413, 'request_too_large']);
    expect(fake.stats.requests).toBe(0);
  });

  it('upstream 500s: the gateway retries (3 attempts), the SDK (maxRetries 2) does not add 6 more', async () => {
    const { fake, client, sdk } = await setup(provider, { maxRetries: 2 });
    fake.enqueue(...Array.from({ length: 9 }, () => ({ kind: 'status' as const, status: 500 })));
    const err = await rejection(() => client().chat.completions.create({ model: 'chat', messages }));
    expect(err).toBeInstanceOf(InternalServerError);
    expect([sdk.calls, fake.stats.requests]).toEqual([1, 3]);
  });

  it('upstream 429 with a Retry-After past the deadline: RateLimitError at once, no SDK retry multiplying upstream calls', async () => {
    const { fake, client, sdk } = await setup(provider, { maxRetries: 2 });
    fake.enqueue(...Array.from({ length: 9 }, () => ({ kind: 'status' as const, status: 429, headers: { 'retry-after': '120' } })));
    const err = await rejection(() => client().chat.completions.create({ model: 'chat', messages }));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.headers?.get('x-should-retry')).toBe('false');
    expect(Number(err.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect([sdk.calls, fake.stats.requests]).toEqual([1, 1]);
  });

  it("the gateway's own 429: the SDK waits retry-after-ms and retries once, and only admitted requests reach the upstream", async () => {
    const tight = { main: { keys: [KEY], models: ['*'], limits: { requests: { capacity: 1, refillPerSecond: 5 } } } };
    const { fake, client, sdk } = await setup(provider, { maxRetries: 2, extraConfig: { tenants: tight } });
    await client().chat.completions.create({ model: 'chat', messages });
    const { data, response } = await client().chat.completions.create({ model: 'chat', messages }).withResponse();
    expect(data.choices[0]?.message.content).toBe(REPLY);
    expect(response.status).toBe(200);
    // 1 + (1 refused with 429 and retry-after-ms ≈ 200, then 1 admitted).
    expect(sdk.calls).toBe(3);
    expect(fake.stats.requests).toBe(2);
  });
});

describe('openai SDK, Azure OpenAI v1 surface (`/openai/v1`, no api-version, `api-key` header)', () => {
  it('v1 surface: chat, stream and embeddings reach /openai/v1 with the deployment as model, authenticated by api-key', async () => {
    const h = await startHarness({
      fakes: [{ dialect: 'openai', apiKey: 'azure-secret-key', behaviour: { reply: REPLY } }],
      env: { AZURE_KEY: 'azure-secret-key' },
      config: ([fake]) => ({
        deployments: { az: { provider: 'azure', baseUrl: `${fake!.baseUrl.replace(/\/v1$/, '')}/openai/v1`, apiKey: '${env:AZURE_KEY}' } },
        models: { chat: { targets: [{ deployment: 'az', model: 'my-gpt-4o-deployment' }] } },
      }),
    });
    open.push(h);
    const fake = h.fakes[0]!;
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0 });
    expect((await client.chat.completions.create({ model: 'chat', messages })).choices[0]?.message.content).toBe(REPLY);
    const final = await client.chat.completions.stream({ model: 'chat', messages, stream_options: { include_usage: true } }).finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe(REPLY);
    expect(final.usage?.completion_tokens).toBe(REPLY.split(' ').length);
    expect((await client.embeddings.create({ model: 'chat', input: 'x' })).data[0]?.embedding).toEqual(embeddingVector('x', FAKE_EMBEDDING_DIMENSIONS));
    expect(fake.received.map((r) => r.path)).toEqual(['/openai/v1/chat/completions', '/openai/v1/chat/completions', '/openai/v1/embeddings']);
    for (const r of fake.received) {
      expect(r.headers['api-key']).toBe('azure-secret-key');
      expect(r.headers.authorization).toBeUndefined();
      expect((r.body as { model: string }).model).toBe('my-gpt-4o-deployment');
    }
  });
});
