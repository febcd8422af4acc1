import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Authenticator } from '../auth/authenticator.js';
import { systemClock } from '../clock.js';
import { resolveConfig } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';
import { fanOut, type GatewayEvents, type RequestFinishedEvent } from '../observability/events.js';
import { logSubscriber } from '../observability/log-events.js';
import { openAiAdapter } from '../providers/openai/adapter.js';
import { MemoryRateLimiter } from '../ratelimit/memory-limiter.js';
import { ClientGoneError } from '../resilience/abort-reasons.js';
import { CircuitBreaker, defaultBreakerOptions } from '../resilience/breaker.js';
import { Executor } from '../resilience/execute.js';
import { RetryBudget } from '../resilience/retry-budget.js';
import { createBalancer } from '../routing/balancers/create-balancer.js';
import { DeploymentLoad } from '../routing/deployment-load.js';
import { TargetStats } from '../routing/target-stats.js';
import { Router } from '../routing/router.js';
import type { RuntimeDeployment, RuntimeModel, RuntimeTarget } from '../routing/runtime-types.js';
import type { UpstreamEndpoint } from '../upstream/send.js';
import { Admission } from './admission.js';
import { handleRequest, type Pipeline } from './handle-request.js';
import { chatOperation } from './operations.js';
import type { ChatReply, StreamWriter } from './reply.js';

const KEY = 'sk-handle-request-test-1';
const TIGHT_KEY = 'sk-handle-request-test-tight';
const config = resolveConfig({
  deployments: { d: { provider: 'openai', baseUrl: 'http://127.0.0.1:1/v1' } },
  models: { m: { targets: [{ deployment: 'd', model: 'up' }] } },
  tenants: { t: { keys: [KEY] }, tight: { keys: [TIGHT_KEY], limits: { requests: { capacity: 1, refillPerSecond: 0.001 } } } },
});

function deployment(): RuntimeDeployment {
  return {
    name: 'd',
    provider: 'openai',
    genAiProvider: 'openai',
    adapter: openAiAdapter,
    // Never used: no test here sends anything upstream.
    endpoint: undefined as unknown as UpstreamEndpoint,
    basePath: '/v1',
    serverAddress: '127.0.0.1',
    serverPort: 1,
    breaker: new CircuitBreaker({ ...defaultBreakerOptions, failureThreshold: 1 }, systemClock),
    load: new DeploymentLoad(),
  };
}

function modelOver(d: RuntimeDeployment): RuntimeModel {
  const stats = new TargetStats();
  const target: RuntimeTarget = { index: 0, alias: 'm', deployment: d, upstreamModel: 'up', targetInfo: { upstreamModel: 'up', basePath: '/v1' }, weight: 1, priority: 0, stats, load: d.load, deploymentName: d.name, latencyMs: () => stats.ttftMs, price: undefined, priceSource: undefined, contextWindow: undefined };
  return { alias: 'm', targets: [target], balancer: createBalancer('round_robin'), fallbacks: [], fallbackOnUnsupportedParameter: false, defaultOutputReserve: 16, ownedBy: 'test' };
}

interface Seen {
  finished: RequestFinishedEvent[];
  internal: Array<{ requestId: string; error: unknown }>;
  logLines: string[];
}

function pipeline(overrides: Partial<Pipeline> = {}): { p: Pipeline; seen: Seen; d: RuntimeDeployment } {
  const seen: Seen = { finished: [], internal: [], logLines: [] };
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      seen.logLines.push(chunk.toString());
      cb();
    },
  });
  const events = fanOut(
    [logSubscriber(pino({ level: 'info' }, sink)), { requestFinished: (e) => seen.finished.push(e), internalError: (e) => seen.internal.push(e) } satisfies Partial<GatewayEvents>],
    () => undefined,
  );
  const d = deployment();
  const budget = new RetryBudget({ percent: 20, minConcurrent: 3 });
  const p: Pipeline = {
    clock: systemClock,
    events,
    auth: new Authenticator(config.tenants),
    router: new Router(new Map([['m', modelOver(d)]])),
    admission: new Admission(new MemoryRateLimiter(), events),
    executor: new Executor({ clock: systemClock, retry: config.retry, budget, events }),
    budget,
    timeouts: config.timeouts,
    newCompletionId: () => 'chatcmpl-test',
    ...overrides,
  };
  return { p, seen, d };
}

interface Replied {
  errors: Array<{ err: GatewayError; headers: Readonly<Record<string, string>> }>;
  json: Array<{ status: number; body: unknown; headers: Readonly<Record<string, string>> }>;
  streams: Array<Readonly<Record<string, string>>>;
}

function reply(writer?: StreamWriter): { reply: ChatReply; replied: Replied } {
  const replied: Replied = { errors: [], json: [], streams: [] };
  return {
    replied,
    reply: {
      json: (status, body, headers) => void replied.json.push({ status, body, headers }),
      error: (err, headers) => void replied.errors.push({ err, headers }),
      openStream: (headers) => {
        if (!writer) throw new Error('no stream expected');
        replied.streams.push(headers);
        return writer;
      },
    },
  };
}

function context(body: unknown, key = KEY) {
  return { requestId: 'req-42', authorization: `Bearer ${key}`, body, controller: new AbortController(), startMs: systemClock.nowMs() };
}

/** An executor that serves `value` from the model's only target at once, counting its runs. */
function servingExecutor(model: RuntimeModel, value: unknown): { executor: Executor; runs: () => number } {
  let runs = 0;
  const executor = {
    run: async () => {
      runs++;
      return { value, target: model.targets[0]!, attempts: 1 };
    },
  } as unknown as Executor;
  return { executor, runs: () => runs };
}

/** An executor for flows that must end before anything is sent upstream. */
const unreachableExecutor = {
  run: async () => {
    throw new Error('the executor must not run');
  },
} as unknown as Executor;

/** A stream that has passed its commit point: chunk 1 first, then 2 and 3, then the end. */
function committedStream() {
  async function* rest() {
    yield { chunks: [{ n: 2 }], done: false };
    yield { chunks: [{ n: 3 }], done: true };
  }
  return { first: [{ n: 1 }], done: false, rest: rest(), cancel: () => undefined, translator: { onEvent: () => ({ chunks: [], done: false }), onEnd: () => ({ chunks: [], done: true }), usage: () => undefined }, startedMs: 0, firstChunkMs: 0, end: () => undefined };
}

const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

/** The chat operation with an upstream-call builder (an adapter's toUpstream) that throws `err`, counting its calls. */
function buildThrowing(err: Error): { op: typeof chatOperation; builds: () => number } {
  let builds = 0;
  const op = {
    ...chatOperation,
    upstreamCall: () => {
      builds++;
      throw err;
    },
  };
  return { op, builds: () => builds };
}

describe('handleRequest: failures that leave a trace (issue 10 §2)', () => {
  it('a TypeError in a request translator → 500 with a generic message, no x-gateway-attempts, not retried, breaker untouched, cause logged once with request id and stack', async () => {
    const { p, seen, d } = pipeline();
    const { op, builds } = buildThrowing(new TypeError("Cannot read properties of undefined (reading 'secretish')"));
    const { reply: r, replied } = reply();
    await handleRequest(p, op, context(body), r);
    expect(builds()).toBe(1);
    expect(replied.errors).toHaveLength(1);
    const { err, headers } = replied.errors[0]!;
    expect(err.status).toBe(500);
    expect(err.code).toBe('internal_error');
    expect(err.message).not.toContain('secretish');
    expect(headers['x-gateway-attempts']).toBeUndefined();
    expect(d.breaker.state).toBe('closed');
    expect(seen.finished).toMatchObject([{ outcome: 'internal_error', status: 500, attempts: 0 }]);
    expect(seen.internal).toHaveLength(1);
    expect(seen.internal[0]!.requestId).toBe('req-42');
    // The access-log line (outcome internal_error) and exactly one line with the cause.
    const lines = seen.logLines.map((l) => JSON.parse(l) as { level: number; requestId?: string; outcome?: string; err?: { stack?: string } });
    expect(lines.filter((l) => l.outcome === 'internal_error')).toHaveLength(1);
    const logged = lines.filter((l) => l.err !== undefined);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.level).toBe(50);
    expect(logged[0]!.requestId).toBe('req-42');
    expect(logged[0]!.err?.stack).toMatch(/TypeError: Cannot read properties/);
  });

  it('an error inside handleRequest itself (a bug while parsing) → 500, and its cause is logged', async () => {
    const { p, seen } = pipeline();
    const op = {
      ...chatOperation,
      parse: () => {
        throw new RangeError('bug in the parser');
      },
    };
    const { reply: r, replied } = reply();
    await handleRequest(p, op, context(body), r);
    expect(replied.errors.map((e) => e.err.status)).toEqual([500]);
    expect(replied.errors[0]!.err.message).not.toContain('bug in the parser');
    expect(seen.finished).toMatchObject([{ outcome: 'internal_error', status: 500 }]);
    expect(seen.internal).toEqual([{ requestId: 'req-42', error: expect.any(RangeError) }]);
  });

  it('a client error (400) is not logged as internal', async () => {
    const { p, seen } = pipeline();
    const { reply: r, replied } = reply();
    await handleRequest(p, chatOperation, context({ model: 'm' }), r);
    expect(replied.errors.map((e) => e.err.status)).toEqual([400]);
    expect(seen.internal).toEqual([]);
  });

  it.each([
    ['stops reading (stall timeout)', 'stall'],
    ['is gone after the commit point', 'gone'],
  ])('a streaming client that %s is recorded as client_disconnect, not an upstream failure', async () => {
    const d = deployment();
    const model = modelOver(d);
    const { executor } = servingExecutor(model, committedStream());
    const { p, seen } = pipeline({ executor });
    let writes = 0;
    const writer: StreamWriter = {
      // The SseWriter rejects like this when the stall timeout fires or the socket is gone.
      write: async () => {
        if (++writes > 1) throw new ClientGoneError();
      },
      fail: () => undefined,
      done: () => undefined,
    };
    const { reply: r } = reply(writer);
    await handleRequest(p, chatOperation, context({ ...body, stream: true }), r);
    expect(seen.finished).toMatchObject([{ outcome: 'client_disconnect' }]);
    expect(seen.internal).toEqual([]);
    expect(d.breaker.state).toBe('closed');
  });
});

describe('handleRequest: the main paths, each ending in one recorded outcome', () => {
  it('success, JSON: one 200 with the body, the served-by headers, and a success record with its usage', async () => {
    const d = deployment();
    const model = modelOver(d);
    const usage = { promptTokens: 5, completionTokens: 7, cachedTokens: 0, reasoningTokens: 0 };
    const completion = { id: 'chatcmpl-test', object: 'chat.completion', choices: [] };
    const { executor, runs } = servingExecutor(model, { body: completion, usage });
    const { p, seen } = pipeline({ executor, router: new Router(new Map([['m', model]])) });
    const { reply: r, replied } = reply();
    await handleRequest(p, chatOperation, context(body), r);
    expect(runs()).toBe(1);
    expect(replied.errors).toEqual([]);
    expect(replied.json).toHaveLength(1);
    expect(replied.json[0]).toMatchObject({ status: 200, body: completion, headers: { 'x-gateway-provider': 'd', 'x-gateway-model': 'm', 'x-gateway-attempts': '1' } });
    expect(seen.finished).toMatchObject([{ outcome: 'success', status: 200, attempts: 1, stream: false, tenant: 't', model: 'm', servedModel: 'm', deployment: 'd', usage: { promptTokens: 5, completionTokens: 7 } }]);
    expect(seen.internal).toEqual([]);
  });

  it('success, stream: the first chunks, then the rest in order, then done once; a success record', async () => {
    const d = deployment();
    const model = modelOver(d);
    const { executor } = servingExecutor(model, committedStream());
    const { p, seen } = pipeline({ executor, router: new Router(new Map([['m', model]])) });
    const written: unknown[][] = [];
    let doneCalls = 0;
    const failed: GatewayError[] = [];
    const writer: StreamWriter = {
      write: async (chunks) => void written.push([...chunks]),
      fail: (err) => void failed.push(err),
      done: () => void doneCalls++,
    };
    const { reply: r, replied } = reply(writer);
    await handleRequest(p, chatOperation, context({ ...body, stream: true }), r);
    expect(replied.streams).toMatchObject([{ 'x-gateway-provider': 'd', 'x-gateway-attempts': '1' }]);
    expect(written).toEqual([[{ n: 1 }], [{ n: 2 }], [{ n: 3 }]]);
    expect(doneCalls).toBe(1);
    expect(failed).toEqual([]);
    expect(replied.errors).toEqual([]);
    expect(seen.finished).toMatchObject([{ outcome: 'success', status: 200, stream: true }]);
  });

  it('refusal: a parameter the only deployment cannot express → its 400, nothing sent, no x-gateway-attempts, breaker untouched', async () => {
    const { p, seen, d } = pipeline();
    const { op, builds } = buildThrowing(new GatewayError('unsupported_parameter', "The 'logit_bias' parameter is not supported by this deployment.", { param: 'logit_bias' }));
    const { reply: r, replied } = reply();
    await handleRequest(p, op, context(body), r);
    expect(builds()).toBe(1);
    expect(replied.json).toEqual([]);
    expect(replied.errors).toHaveLength(1);
    const { err, headers } = replied.errors[0]!;
    expect(err.status).toBe(400);
    expect(err.code).toBe('unsupported_parameter');
    expect(err.param).toBe('logit_bias');
    expect(headers['x-gateway-attempts']).toBeUndefined();
    expect(d.breaker.state).toBe('closed');
    expect(seen.finished).toMatchObject([{ outcome: 'client_error', status: 400, attempts: 0, errorCode: 'unsupported_parameter' }]);
    expect(seen.internal).toEqual([]);
  });

  it('auth failure: an unknown key → 401 invalid_api_key before anything else runs; recorded as auth_error', async () => {
    const { p, seen } = pipeline({ executor: unreachableExecutor });
    const { reply: r, replied } = reply();
    await handleRequest(p, chatOperation, context(body, 'sk-not-a-key-of-anyone'), r);
    expect(replied.errors.map((e) => [e.err.status, e.err.code])).toEqual([[401, 'invalid_api_key']]);
    expect(replied.errors[0]!.err.message).not.toContain('sk-not-a-key-of-anyone');
    expect(seen.finished).toMatchObject([{ outcome: 'auth_error', status: 401, tenant: undefined, attempts: 0 }]);
    expect(seen.internal).toEqual([]);
  });

  it('limit refusal: past the tenant request limit → 429 with a wait and the limit headers, the executor not run again; recorded as rate_limited', async () => {
    const d = deployment();
    const model = modelOver(d);
    const { executor, runs } = servingExecutor(model, { body: {}, usage: { promptTokens: 1, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0 } });
    const { p, seen } = pipeline({ executor, router: new Router(new Map([['m', model]])) });
    const first = reply();
    await handleRequest(p, chatOperation, context(body, TIGHT_KEY), first.reply);
    expect(first.replied.json.map((j) => j.status)).toEqual([200]);
    const second = reply();
    await handleRequest(p, chatOperation, context(body, TIGHT_KEY), second.reply);
    expect(runs()).toBe(1);
    expect(second.replied.json).toEqual([]);
    expect(second.replied.errors).toHaveLength(1);
    const { err, headers } = second.replied.errors[0]!;
    expect(err.status).toBe(429);
    expect(err.code).toBe('rate_limit_exceeded');
    // The edge renders this as Retry-After; the limit's own headers come with it.
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect({ ...err.headers, ...headers }).toHaveProperty('x-ratelimit-limit-requests', '1');
    expect(seen.finished.map((e) => [e.outcome, e.status, e.tenant])).toEqual([
      ['success', 200, 'tight'],
      ['rate_limited', 429, 'tight'],
    ]);
  });
});
