/**
 * Token and concurrency limits on the machine's Redis, and cooldowns shared by replicas: L-06
 * (overshoot bound, final counter = ground truth), the leak test (reservations and slots back
 * after failures and client disconnects) and shared 429 cooldowns. Each test has its own key
 * prefix, so files and tests run in parallel.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { chatOperation } from '../src/pipeline/operations.js';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, harnessConfig, KEY, metric, startHarness, type Harness } from './helpers/harness.js';
import { adminClient, SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from './helpers/redis.js';

const available = await sharedRedisAvailable();
const admin: Redis | undefined = available ? adminClient() : undefined;
afterAll(() => admin?.disconnect());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

type Json = Record<string, unknown>;

async function replica(prefix: string, config: (fakes: readonly FakeUpstream[]) => Json, fakes: Array<{ dialect: 'openai'; behaviour?: Json }> = [{ dialect: 'openai' }]): Promise<Harness> {
  const h = await startHarness({
    fakes: fakes as never,
    config: (f) => ({ state: { backend: 'redis', redis: { url: SHARED_REDIS_URL, keyPrefix: prefix } }, ...config(f) }),
  });
  cleanups.push(() => h.close());
  return h;
}

/** Tokens taken from a bucket so far (capacity − stored level; a missing key is a full bucket). */
async function spent(key: string, capacity: number): Promise<number> {
  const t = await admin?.hget(key, 't');
  return t === null || t === undefined ? 0 : capacity - Number(t);
}

const promptEstimate = (body: Json): number => chatOperation.promptTokens(chatOperation.parse(body, {}));

describe.skipIf(!available)('token and concurrency limits on Redis', () => {
  it('L-06: concurrent reservations: charged ≤ capacity + Σ(actual − reserved)⁺, and the counter ends at the sum of real usage', async () => {
    const prefix = uniquePrefix('l06');
    const CAPACITY = 600;
    const config = (fakes: readonly FakeUpstream[]): Json => ({
      deployments: { fake: deploymentFor(fakes[0] as FakeUpstream) },
      models: { m: { targets: [{ deployment: 'fake', model: 'up' }] } },
      tenants: { main: { keys: [KEY], limits: { tokens: { capacity: CAPACITY, refillPerSecond: 0.001 } } } },
    });
    // Two replicas on one Redis; the fake answers 30 words, more than max_tokens allows, so
    // every answer is cut at max_tokens (output never exceeds its reservation).
    const behaviour = { reply: Array.from({ length: 30 }, (_, i) => `w${i}`).join(' '), latencyMs: 30 };
    const a = await replica(prefix, config, [{ dialect: 'openai', behaviour }]);
    const b = await replica(prefix, config, [{ dialect: 'openai', behaviour }]);
    const bodies = Array.from({ length: 40 }, (_, i) => chatBody('m', { max_tokens: 10 + (i % 3) * 5, messages: [{ role: 'user', content: `request ${i} ${'lorem ipsum '.repeat(i % 5)}` }] }));
    const results = await Promise.all(bodies.map((body, i) => chat((i % 2 ? a : b).url, body).then((res) => ({ res, body }))));
    const ok = results.filter((r) => r.res.status === 200);
    expect(ok.length).toBeGreaterThan(0);
    expect(results.some((r) => r.res.status === 429)).toBe(true); // the limit was reached
    expect(results.every((r) => r.res.status === 200 || r.res.status === 429)).toBe(true);
    let charged = 0;
    let overshootAllowance = 0;
    for (const { res, body } of ok) {
      const usage = res.json().usage as { prompt_tokens: number; completion_tokens: number };
      const reserved = promptEstimate(body) + (body.max_tokens as number);
      charged += usage.prompt_tokens + usage.completion_tokens;
      overshootAllowance += Math.max(0, usage.prompt_tokens + usage.completion_tokens - reserved);
      expect(usage.completion_tokens).toBeLessThanOrEqual(body.max_tokens as number);
    }
    // The documented bound (docs/rate-limits.md).
    expect(charged).toBeLessThanOrEqual(CAPACITY + overshootAllowance);
    // After quiescence the shared counter holds exactly the real usage (refill: 0.001/s, < 0.1).
    await new Promise((r) => setTimeout(r, 200)); // reconciliation is fire-and-forget
    const key = `${prefix}rl:{main|m}|tokens`;
    expect(Math.abs((await spent(key, CAPACITY)) - charged)).toBeLessThan(0.1);
    expect(await admin?.pttl(key)).toBeGreaterThan(0);
  });

  it('leak test: after upstream failures, mid-stream cuts and client disconnects, no reservation or slot is left held', async () => {
    const prefix = uniquePrefix('leak');
    const CAPACITY = 100_000;
    const h = await replica(prefix, (fakes) => ({
      retry: { maxAttempts: 1 },
      deployments: { fake: deploymentFor(fakes[0] as FakeUpstream) },
      models: { m: { targets: [{ deployment: 'fake', model: 'up' }] } },
      tenants: { main: { keys: [KEY], limits: { tokens: { capacity: CAPACITY, refillPerSecond: 0.001 } }, concurrency: { maxInFlight: 3 } } },
    }), [{ dialect: 'openai', behaviour: { chunks: 6, chunkIntervalMs: 20 } }]);
    const fake = h.fakes[0] as FakeUpstream;
    const body = chatBody('m', { max_tokens: 500 });
    const estimate = promptEstimate(body);
    // An upstream 500, a stream cut after 2 chunks, an in-band error after 3 chunks (past the
    // commit point: the fake writes the error right behind the chunk before it, and an error
    // that arrives with the first content chunk fails the attempt before the client sees
    // anything), a stall the client walks away from.
    fake.enqueue({ kind: 'status', status: 500 });
    expect((await chat(h.url, body)).status).toBe(502);
    fake.enqueue({ kind: 'reset-mid-stream', afterChunks: 2 });
    expect((await chat(h.url, { ...body, stream: true })).status).toBe(200);
    fake.enqueue({ kind: 'error-event', afterChunks: 3 });
    expect((await chat(h.url, { ...body, stream: true })).status).toBe(200);
    fake.enqueue({ kind: 'stall', afterChunks: 2 });
    const controller = new AbortController();
    const pending = chat(h.url, { ...body, stream: true }, { signal: controller.signal }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    await pending;
    await fake.waitForAborts(1, 3_000);
    // Every exit path gave its slot back: the tenant can use all 3 slots at once again.
    const slotKey = `${prefix}cc:{main}`;
    let held = -1;
    for (let i = 0; i < 40 && held !== 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      held = (await admin?.zcard(slotKey)) ?? -1;
    }
    expect(held).toBe(0);
    // Each failed request was charged what it used, never its whole reservation: the 5xx its
    // prompt estimate, each cut stream its counted prompt plus what was streamed. So the four
    // 500-token output reservations are all back, and nothing was charged zero.
    const used = await spent(`${prefix}rl:{main|m}|tokens`, CAPACITY);
    expect(used).toBeGreaterThanOrEqual(estimate + 3 - 0.01); // minus the refill (0.001/s) meanwhile
    expect(used).toBeLessThan(4 * estimate + 4 * 50);
  });

  it('concurrency: in-flight requests never exceed maxInFlight across two replicas (429 concurrency_limit_exceeded), and slots come back', async () => {
    const prefix = uniquePrefix('conc');
    const config = (fakes: readonly FakeUpstream[]): Json => ({
      deployments: { fake: deploymentFor(fakes[0] as FakeUpstream) },
      models: { m: { targets: [{ deployment: 'fake', model: 'up' }] } },
      tenants: { main: { keys: [KEY], concurrency: { maxInFlight: 2 } } },
    });
    const a = await replica(prefix, config, [{ dialect: 'openai', behaviour: { latencyMs: 400 } }]);
    const b = await replica(prefix, config, [{ dialect: 'openai', behaviour: { latencyMs: 400 } }]);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => chat((i % 2 ? a : b).url, chatBody('m'))));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
    for (const r of results.filter((x) => x.status === 429)) {
      expect(r.json().error.code).toBe('concurrency_limit_exceeded');
      expect(r.headers['retry-after']).toBe('1');
    }
    expect((await admin?.zcard(`${prefix}cc:{main}`)) ?? -1).toBe(0);
    expect((await Promise.all([chat(a.url, chatBody('m')), chat(b.url, chatBody('m'))])).map((r) => r.status)).toEqual([200, 200]);
    expect(await metric(a.url, 'gateway_ratelimit_decisions_total', { limit: 'concurrency', result: 'rejected' })).toBeGreaterThan(0);
  });

  it('shared cooldowns: a provider 429 with Retry-After on one replica stops every replica sending to that deployment', async () => {
    const prefix = uniquePrefix('cool');
    const hot = await FakeUpstream.start({ dialect: 'openai' });
    const spare = await FakeUpstream.start({ dialect: 'openai' });
    cleanups.push(() => hot.close(), () => spare.close());
    const config = (): Json => ({
      deployments: { hot: deploymentFor(hot), spare: deploymentFor(spare) },
      models: { m: { strategy: 'priority', targets: [{ deployment: 'hot', model: 'up', priority: 0 }, { deployment: 'spare', model: 'up', priority: 1 }] } },
    });
    const a = await replica(prefix, config, []);
    const b = await replica(prefix, config, []);
    hot.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    const first = await chat(a.url, chatBody('m'));
    expect(first.status).toBe(200);
    expect(first.headers['x-gateway-provider']).toBe('spare');
    expect(await admin?.pttl(`${prefix}cd:{hot}`)).toBeGreaterThan(25_000);
    // Replica b never saw the 429, yet skips "hot" (pub/sub reaches it within milliseconds).
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 5; i++) expect((await chat(b.url, chatBody('m'))).headers['x-gateway-provider']).toBe('spare');
    expect(hot.stats.requests).toBe(1);
  });

  it('shared cooldowns for a deployment added by a hot reload (issue 10 §4c): a 429 on it at replica A cools it down on replica B', async () => {
    const prefix = uniquePrefix('coolreload');
    const hot = await FakeUpstream.start({ dialect: 'openai' });
    const spare = await FakeUpstream.start({ dialect: 'openai' });
    cleanups.push(() => hot.close(), () => spare.close());
    const before = (): Json => ({
      deployments: { spare: deploymentFor(spare) },
      models: { m: { targets: [{ deployment: 'spare', model: 'up' }] } },
    });
    // "hot" exists only after the reload, on both replicas.
    const after = (): Json => ({
      state: { backend: 'redis', redis: { url: SHARED_REDIS_URL, keyPrefix: prefix } },
      deployments: { hot: deploymentFor(hot), spare: deploymentFor(spare) },
      models: { m: { strategy: 'priority', targets: [{ deployment: 'hot', model: 'up', priority: 0 }, { deployment: 'spare', model: 'up', priority: 1 }] } },
    });
    const a = await replica(prefix, before, []);
    const b = await replica(prefix, before, []);
    for (const r of [a, b]) expect(r.gateway.reload(harnessConfig(after()))).toMatchObject({ ok: true, added: ['hot'] });
    hot.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    const first = await chat(a.url, chatBody('m'));
    expect(first.headers['x-gateway-provider']).toBe('spare');
    expect(await admin?.pttl(`${prefix}cd:{hot}`)).toBeGreaterThan(25_000);
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 5; i++) expect((await chat(b.url, chatBody('m'))).headers['x-gateway-provider']).toBe('spare');
    expect(hot.stats.requests).toBe(1);
  });
});
