import OpenAI, {
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { deploymentFor, KEY, startHarness, type Harness } from './helpers/harness.js';

const REPLY = 'one two three four five six seven';
const LIMITED_KEY = 'sk-test-limited-0123456789';
const TIGHT_KEY = 'sk-test-tight-0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const messages = [{ role: 'user' as const, content: 'Count to seven.' }];

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function setup(dialect: 'openai' | 'triton'): Promise<{ h: Harness; client: (key?: string) => OpenAI }> {
  const h = await startHarness({
    fakes: [{ dialect, behaviour: { reply: REPLY, chunks: 4 } }],
    config: ([fake]) => ({
      deployments: { d: deploymentFor(fake!) },
      models: { chat: { targets: [{ deployment: 'd', model: 'served-model' }] }, private: { targets: [{ deployment: 'd', model: 'served-model' }] } },
      tenants: {
        main: { keys: [KEY], models: ['*'] },
        limited: { keys: [LIMITED_KEY], models: ['chat'] },
        tight: { keys: [TIGHT_KEY], models: ['*'], limits: { requests: { capacity: 1, refillPerSecond: 0.001 } } },
      },
    }),
  });
  open.push(h);
  return { h, client: (key = KEY) => new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key, maxRetries: 0, timeout: 10_000 }) };
}

/** Runs `fn`, expects it to reject with an APIError of `cls`, and returns that error. */
async function apiError<T extends APIError>(fn: () => Promise<unknown>, cls: abstract new (...args: never[]) => T): Promise<T> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(cls);
  const apiErr = err as T;
  // The SDK reads `x-request-id`; ours is `x-gateway-request-id`, present on every error.
  expect(apiErr.headers?.get('x-gateway-request-id')).toMatch(UUID);
  return apiErr;
}

describe.each(['openai', 'triton'] as const)('official openai client against a %s deployment', (dialect) => {
  it('plain completion', async () => {
    const { h, client } = await setup(dialect);
    const { data, response } = await client().chat.completions.create({ model: 'chat', messages }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('chat');
    expect(data.choices[0]?.message.content).toBe(REPLY);
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-gateway-request-id')).toMatch(UUID);
    expect(response.headers.get('x-gateway-provider')).toBe('d');
    expect(h.fakes[0]!.stats.requests).toBe(1);
  });

  it('streamed completion: concatenated deltas equal what the upstream sent (E-4)', async () => {
    const { client } = await setup(dialect);
    const stream = await client().chat.completions.create({ model: 'chat', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null | undefined;
    let usageChunks = 0;
    const ids = new Set<string>();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      expect(chunk.model).toBe('chat');
      if (chunk.choices.length === 0) usageChunks += 1;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(REPLY);
    expect(finish).toBe('stop');
    expect(usageChunks).toBe(1);
    expect(ids.size).toBe(1);
  });

  it('chat.completions.stream() + finalChatCompletion()', async () => {
    const { client } = await setup(dialect);
    const runner = client().chat.completions.stream({ model: 'chat', messages });
    const deltas: string[] = [];
    runner.on('content', (delta) => deltas.push(delta));
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe(REPLY);
    expect(final.choices[0]?.finish_reason).toBe('stop');
    expect(deltas.join('')).toBe(REPLY);
  });

  it('models.list()', async () => {
    const { client } = await setup(dialect);
    const ids: string[] = [];
    for await (const model of client().models.list()) ids.push(model.id);
    expect(ids).toEqual(['chat', 'private']);
    const limited: string[] = [];
    for await (const model of client(LIMITED_KEY).models.list()) limited.push(model.id);
    expect(limited).toEqual(['chat']);
  });

  it('400 → BadRequestError with param', async () => {
    const { h, client } = await setup(dialect);
    const err = await apiError(() => client().chat.completions.create({ model: 'chat', messages, n: 1000 }), BadRequestError);
    expect(err.status).toBe(400);
    expect(err.param).toBe('n');
    expect(err.type).toBe('invalid_request_error');
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });

  it('401 → AuthenticationError', async () => {
    const { client } = await setup(dialect);
    const err = await apiError(() => client('sk-wrong-key-0123456789').chat.completions.create({ model: 'chat', messages }), AuthenticationError);
    expect(err.status).toBe(401);
    expect(err.code).toBe('invalid_api_key');
    expect(err.message).not.toContain('sk-wrong-key');
  });

  it('403 → PermissionDeniedError', async () => {
    const { client } = await setup(dialect);
    const err = await apiError(() => client(LIMITED_KEY).chat.completions.create({ model: 'private', messages }), PermissionDeniedError);
    expect(err.status).toBe(403);
    expect(err.code).toBe('model_not_allowed');
  });

  it('404 → NotFoundError', async () => {
    const { client } = await setup(dialect);
    const err = await apiError(() => client().chat.completions.create({ model: 'no-such-model', messages }), NotFoundError);
    expect(err.status).toBe(404);
    expect(err.code).toBe('model_not_found');
  });

  it('429 → RateLimitError with Retry-After', async () => {
    const { h, client } = await setup(dialect);
    await client(TIGHT_KEY).chat.completions.create({ model: 'chat', messages });
    const err = await apiError(() => client(TIGHT_KEY).chat.completions.create({ model: 'chat', messages }), RateLimitError);
    expect(err.status).toBe(429);
    expect(Number(err.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(err.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(h.fakes[0]!.stats.requests).toBe(1);
  });

  it('502 → InternalServerError, x-should-retry false', async () => {
    const { h, client } = await setup(dialect);
    h.fakes[0]!.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 500 })));
    const err = await apiError(() => client().chat.completions.create({ model: 'chat', messages }), InternalServerError);
    expect(err.status).toBe(502);
    expect(err.code).toBe('upstream_error');
    expect(err.headers.get('x-should-retry')).toBe('false');
    expect(h.fakes[0]!.stats.requests).toBe(3);
  });
});
