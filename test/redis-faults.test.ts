/**
 * R-01…R-04: the gateway against a Redis of its own that the test kills, slows or restarts.
 * Each test starts its own redis-server on a free port (and stops only that pid), so nothing
 * touches the machine's Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { chat, chatBody, deploymentFor, KEY, metric, scrapeMetrics, startHarness, type Harness } from './helpers/harness.js';
import { adminClient, REDIS_SERVER_BIN, startDelayProxy, startRedisServer, type DelayProxy, type OwnRedis } from './helpers/redis.js';
import { existsSync } from 'node:fs';

const canRun = existsSync(REDIS_SERVER_BIN);
if (!canRun) {
  if (process.env.CI === 'true') throw new Error(`CI=true but ${REDIS_SERVER_BIN} is missing`);
  console.warn(`[redis fault tests] skipped: ${REDIS_SERVER_BIN} not found`);
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function ownRedis(): Promise<OwnRedis> {
  const r = await startRedisServer();
  cleanups.push(() => r.stop());
  return r;
}

/**
 * A gateway on `url` with a request limit on `limited` (and none on `free`), with the default
 * liveness bound (stallMs 300: a connection with commands waiting and no reply for that long is
 * dead); R-03's injected delay is well above it. Short breaker periods keep the tests quick.
 */
async function gateway(url: string, options: { failureMode?: 'open' | 'closed'; capacity?: number; replicas?: number; redis?: Record<string, unknown> } = {}): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    config: (fakes) => ({
      state: {
        backend: 'redis',
        redis: { url, keyPrefix: 'gw:', maxReconnectDelayMs: 100, breaker: { failureThreshold: 3, openMs: 300, maxOpenMs: 300 }, ...options.redis },
        expectedReplicas: options.replicas ?? 2,
        failureMode: options.failureMode ?? 'open',
      },
      deployments: { fake: deploymentFor(fakes[0] as never) },
      models: { limited: { targets: [{ deployment: 'fake', model: 'up' }] }, free: { targets: [{ deployment: 'fake', model: 'up' }] } },
      tenants: { main: { keys: [KEY], models: ['*'], modelLimits: { limited: { requests: { capacity: options.capacity ?? 20, refillPerSecond: 0.001 } } } } },
    }),
  });
  cleanups.push(() => h.close());
  return h;
}

function tally(statuses: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}

describe.skipIf(!canRun)('Redis faults', () => {
  it('S-18: the Redis password in the URL never reaches logs, metrics or responses, in health or failure', async () => {
    const password = `CANARY${randomBytes(12).toString('hex')}`;
    const redis = await startRedisServer([], password);
    cleanups.push(() => redis.stop());
    const lines: string[] = [];
    const h = await startHarness({
      fakes: [{ dialect: 'openai' }],
      env: { REDIS_URL: `redis://:${password}@127.0.0.1:${redis.port}` },
      logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }),
      config: (fakes) => ({
        state: { backend: 'redis', redis: { url: '${env:REDIS_URL}', breaker: { openMs: 200, maxOpenMs: 200 } } },
        deployments: { fake: deploymentFor(fakes[0] as never) },
        models: { limited: { targets: [{ deployment: 'fake', model: 'up' }] } },
        tenants: { main: { keys: [KEY], limits: { requests: { capacity: 2, refillPerSecond: 0.001 } } } },
      }),
    });
    cleanups.push(() => h.close());
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) bodies.push((await chat(h.url, chatBody('limited'))).text);
    expect(await metric(h.url, 'gateway_ratelimit_failopen_total')).toBe(0); // authenticated and shared
    await redis.stop();
    for (let i = 0; i < 5; i++) bodies.push((await chat(h.url, chatBody('limited'))).text);
    expect(await metric(h.url, 'gateway_ratelimit_failopen_total')).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('shared state (Redis) breaker'))).toBe(true);
    const everything = [...lines, ...bodies, await scrapeMetrics(h.url)].join('\n');
    expect(everything).not.toContain(password);
  });

  it('R-01: Redis killed under load, fail-open: no 5xx, local fallback (limit ÷ replicas) enforced, each decision counted', async () => {
    const redis = await ownRedis();
    const h = await gateway(redis.url, { capacity: 20, replicas: 2 });
    const statuses: number[] = [];
    let next = 0;
    let killed: Promise<void> | undefined;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < 60; i = next++) {
        if (i === 4) killed = redis.stop(); // mid-load
        statuses.push((await chat(h.url, chatBody('limited'))).status);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await killed;
    const after = await Promise.all(Array.from({ length: 15 }, () => chat(h.url, chatBody('limited'))));
    const all = [...statuses, ...after.map((r) => r.status)];
    expect(all.filter((s) => s >= 500)).toEqual([]);
    expect(all.every((s) => s === 200 || s === 429)).toBe(true);
    // The local share is 20 ÷ 2 = 10: once Redis is gone this replica admits at most 10.
    const failOpenAllowed = await metric(h.url, 'gateway_ratelimit_failopen_total', { model: 'limited', limit: 'requests' });
    expect(failOpenAllowed).toBeGreaterThan(0);
    const admitted = all.filter((s) => s === 200).length;
    expect(admitted).toBeLessThanOrEqual(20 + 10);
    expect(after.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    for (const r of after.filter((x) => x.status === 429)) expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    // Unlimited routes never needed Redis at all.
    expect((await chat(h.url, chatBody('free'))).status).toBe(200);
    expect(h.fakes[0]?.stats.requests).toBe(admitted + 1);
  });

  it('R-01: after Redis is gone, exactly the local share is admitted and every decision is counted', async () => {
    const redis = await ownRedis();
    const h = await gateway(redis.url, { capacity: 20, replicas: 4 });
    await redis.stop();
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await chat(h.url, chatBody('limited'))).status);
    expect(tally(statuses)).toEqual({ 200: 5, 429: 7 }); // 20 ÷ 4
    expect(await metric(h.url, 'gateway_ratelimit_failopen_total', { model: 'limited', limit: 'requests' })).toBe(12);
    expect(await metric(h.url, 'gateway_state_errors_total')).toBeGreaterThanOrEqual(12);
  });

  it('R-02: Redis killed, fail-closed: limited routes get 503 rate_limit_unavailable with Retry-After, unlimited routes unaffected', async () => {
    const redis = await ownRedis();
    const h = await gateway(redis.url, { failureMode: 'closed' });
    expect((await chat(h.url, chatBody('limited'))).status).toBe(200);
    await redis.stop();
    for (let i = 0; i < 5; i++) {
      const res = await chat(h.url, chatBody('limited'));
      expect(res.status).toBe(503);
      expect(res.json().error.code).toBe('rate_limit_unavailable');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(res.headers['x-should-retry']).toBe('true');
    }
    expect((await chat(h.url, chatBody('free'))).status).toBe(200);
    expect(await metric(h.url, 'gateway_ratelimit_failclosed_total', { model: 'limited', limit: 'requests' })).toBe(5);
    expect(h.fakes[0]?.stats.requests).toBe(2);
  });

  it('R-03: a slow Redis (1,500 ms added) trips the Redis breaker; requests are not held for the delay; recovery after the fault clears', async () => {
    const redis = await ownRedis();
    const proxy: DelayProxy = await startDelayProxy(redis.port);
    cleanups.push(() => proxy.close());
    const h = await gateway(proxy.url, { capacity: 1_000 });
    expect((await chat(h.url, chatBody('limited'))).status).toBe(200);
    proxy.delayMs = 1_500;
    const slowest: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const res = await chat(h.url, chatBody('limited'));
      slowest.push(performance.now() - started);
      expect(res.status).toBe(200);
    }
    // A request waits for Redis only while the connection is alive: the one in flight when it
    // stalls (no reply for stallMs, 300 ms) and each half-open probe (at most stallMs) wait; all
    // the others find the breaker open and never wait. None waits out Redis's 1,500 ms.
    expect(Math.max(...slowest)).toBeLessThan(1_500);
    const waited = await metric(h.url, 'gateway_state_errors_total', { reason: 'timeout' });
    const refusedAtOnce = await metric(h.url, 'gateway_state_errors_total', { reason: 'breaker_open' });
    expect(waited).toBeGreaterThan(0);
    expect(refusedAtOnce).toBeGreaterThan(waited); // later requests are not delayed
    expect(waited + refusedAtOnce).toBeGreaterThanOrEqual(20); // (+ reconciliations of late replies)
    const degraded = await metric(h.url, 'gateway_ratelimit_failopen_total');
    expect(degraded).toBe(20);
    // Fault clears: within one breaker interval (300 ms) plus a probe, decisions are shared again
    // (after the replies still held by the proxy have drained).
    proxy.delayMs = 0;
    await new Promise((r) => setTimeout(r, 1_800));
    for (let i = 0; i < 3; i++) await chat(h.url, chatBody('limited'));
    const before = await metric(h.url, 'gateway_ratelimit_failopen_total');
    for (let i = 0; i < 5; i++) expect((await chat(h.url, chatBody('limited'))).status).toBe(200);
    expect(await metric(h.url, 'gateway_ratelimit_failopen_total')).toBe(before);
  });

  it('R-03: Redis 500 ms slow under concurrent load, default stallMs: the breaker opens and later requests do not wait for Redis', async () => {
    const redis = await ownRedis();
    const proxy: DelayProxy = await startDelayProxy(redis.port);
    cleanups.push(() => proxy.close());
    const h = await gateway(proxy.url, { capacity: 10_000, redis: { breaker: { failureThreshold: 3, openMs: 1_000, maxOpenMs: 1_000 } } });
    expect((await chat(h.url, chatBody('limited'))).status).toBe(200);
    proxy.delayMs = 500;
    const statuses: number[] = [];
    let next = 0;
    const client = async (): Promise<void> => {
      for (let i = next++; i < 160; i = next++) statuses.push((await chat(h.url, chatBody('limited'))).status);
    };
    await Promise.all(Array.from({ length: 8 }, client));
    expect(tally(statuses)).toEqual({ 200: 160 });
    // A Redis that answers everything 500 ms late is slower than stallMs (300 ms): the calls in
    // flight fail over once, the breaker opens, and most requests never wait for Redis at all.
    const waited = await metric(h.url, 'gateway_state_errors_total', { reason: 'timeout' });
    const refusedAtOnce = await metric(h.url, 'gateway_state_errors_total', { reason: 'breaker_open' });
    expect(waited).toBeGreaterThan(0);
    expect(refusedAtOnce).toBeGreaterThan(80);
    expect(await metric(h.url, 'gateway_ratelimit_failopen_total')).toBeGreaterThanOrEqual(150);
  });

  it('R-04: Redis restarted empty: limits resume (one window of over-admission), NOSCRIPT handled', async () => {
    const redis = await ownRedis();
    const h = await gateway(redis.url, { capacity: 3 });
    const first = [];
    for (let i = 0; i < 5; i++) first.push((await chat(h.url, chatBody('limited'))).status);
    expect(first).toEqual([200, 200, 200, 429, 429]);
    await redis.restart(); // empty: no keys, no cached scripts
    const admin = adminClient(redis.port);
    cleanups.push(async () => admin.disconnect());
    // Wait for the gateway to reconnect and its breaker to close (shared decisions again).
    let shared = false;
    for (let i = 0; i < 40 && !shared; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const before = await metric(h.url, 'gateway_ratelimit_failopen_total');
      await chat(h.url, chatBody('free'), { path: '/v1/chat/completions' });
      const probe = await chat(h.url, chatBody('limited'));
      shared = (await metric(h.url, 'gateway_ratelimit_failopen_total')) === before && probe.status !== 503;
    }
    expect(shared).toBe(true);
    // The bucket lives in Redis again (the script was re-sent after NOSCRIPT) and limits hold.
    expect(await admin.exists('gw:rl:{main|limited}|requests')).toBe(1);
    const again = [];
    for (let i = 0; i < 4; i++) again.push((await chat(h.url, chatBody('limited'))).status);
    expect(again.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    expect(again.every((s) => s === 200 || s === 429)).toBe(true);
  });
});
