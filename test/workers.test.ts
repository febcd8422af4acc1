/**
 * `llm-gateway serve --workers 3` (node:cluster) in a child process: L-05 exactness across
 * workers (one limiter in the primary, reached over IPC), concurrency slots exact across workers
 * (also in the primary), /metrics for the whole group, crash restart, SIGHUP forwarding, and a
 * drained exit 0 on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { startChildGateway, type ChildGateway } from './helpers/child-gateway.js';
import { KEY, metricValue } from './helpers/harness.js';

let fake: FakeUpstream;
// Answers slowly, so that every admitted request stays in flight long enough to be seen.
let slow: FakeUpstream;
const SLOW_KEY = 'sk-test-slow-0123456789';
const SLOW_LATENCY_MS = 1_000;
let child: ChildGateway;
let url: string;

beforeAll(async () => {
  fake = await FakeUpstream.start({ dialect: 'openai', behaviour: { latencyMs: 5 } });
  slow = await FakeUpstream.start({ dialect: 'openai', behaviour: { latencyMs: SLOW_LATENCY_MS } });
  child = startChildGateway({
    args: ['--workers', '3'],
    config: {
      server: { host: '127.0.0.1', port: 0, drainDelayMs: 100, shutdownGraceMs: 5_000 },
      logging: { level: 'info', format: 'json' },
      deployments: { f: { provider: 'openai', baseUrl: fake.baseUrl }, s: { provider: 'openai', baseUrl: slow.baseUrl } },
      models: { m: { targets: [{ deployment: 'f', model: 'gpt-x' }] }, slow: { targets: [{ deployment: 's', model: 'gpt-x' }] } },
      tenants: {
        // Capacity 100, refill negligible: exactly 100 admissions in the test's lifetime.
        main: { keys: [KEY], limits: { requests: { capacity: 100, refillPerSecond: 0.0001 } } },
        narrow: { keys: [SLOW_KEY], concurrency: { maxInFlight: 2 } },
      },
    },
  });
  await child.waitForLog((l) => l.msg === 'all workers listening', 40_000);
  // Workers' log lines are batched (up to 250 ms), so a worker's own line can arrive after the primary's.
  url = String((await child.waitForLog((l) => l.msg === 'llm-gateway listening', 5_000)).url);
}, 60_000);

afterAll(async () => {
  await child?.cleanup();
  await fake?.close();
  await slow?.close();
});

async function scrape(): Promise<string> {
  const res = await request(`${url}/metrics`);
  expect(res.statusCode).toBe(200);
  return res.body.text();
}

describe('serve --workers 3', () => {
  it('L-05 with workers: 1,000 requests at ~50 concurrent, limit 100 → the upstream receives exactly 100, 900 get 429 with Retry-After, aggregated admitted = 100', async () => {
    const dispatcher = new Agent({ connections: 50, pipelining: 1 });
    const statuses: number[] = [];
    const retryAfterMissing: number[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 1_000) {
        const i = next++;
        const res = await request(`${url}/v1/chat/completions`, {
          method: 'POST',
          dispatcher,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `request ${i}` }] }),
        });
        await res.body.text();
        statuses.push(res.statusCode);
        if (res.statusCode === 429 && !(Number(res.headers['retry-after']) > 0)) retryAfterMissing.push(i);
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    await dispatcher.close();

    expect(fake.stats.requests).toBe(100);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 429)).toHaveLength(900);
    expect(retryAfterMissing).toEqual([]);

    // Every worker served some of them, and /metrics (asked of any worker) covers the group.
    const servedBy = new Set(child.logs.filter((l) => l.msg === 'request').map((l) => l.worker));
    expect(servedBy.size).toBe(3);
    const text = await scrape();
    expect(metricValue(text, 'gateway_ratelimit_decisions_total', { limit: 'requests', result: 'allowed' })).toBe(100);
    expect(metricValue(text, 'gateway_ratelimit_decisions_total', { limit: 'requests', result: 'rejected' })).toBe(900);
    expect(metricValue(text, 'gateway_requests_total', { route: '/v1/chat/completions' })).toBe(1_000);
    expect(metricValue(text, 'gateway_build_info')).toBe(1);
  }, 60_000);

  it('restarts a crashed worker, which shares the same limiter', async () => {
    const victim = child.logs.find((l) => l.msg === 'llm-gateway listening' && l.worker === 1);
    expect(victim).toBeDefined();
    process.kill(Number(victim?.pid), 'SIGKILL');
    await child.waitForLog((l) => l.msg === 'worker died; restarting' && l.signal === 'SIGKILL', 10_000);
    await child.waitForLog((l) => l.msg === 'llm-gateway listening' && l.worker === 1 && l.pid !== victim?.pid, 30_000);
    // The limit is spent for the whole group, the restarted worker included.
    for (let i = 0; i < 6; i++) {
      const res = await request(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, connection: 'close' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'again' }] }),
      });
      await res.body.text();
      expect(res.statusCode).toBe(429);
    }
    expect(fake.stats.requests).toBe(100);
  }, 60_000);

  it('concurrency across workers: 12 concurrent requests, maxInFlight 2 → never more than 2 at the upstream, the rest 429 concurrency_limit_exceeded, and the slots come back', async () => {
    const inFlight = (): number => slow.stats.requests - slow.stats.completed - slow.stats.aborted;
    // Each admitted request stays at the upstream for SLOW_LATENCY_MS, so sampling every few
    // milliseconds cannot miss a third one.
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, inFlight());
    }, 5);
    const send = async (): Promise<{ status: number; code: unknown; retryAfter: unknown }> => {
      const res = await request(`${url}/v1/chat/completions`, {
        method: 'POST',
        // One connection per request, so the primary spreads them over the workers.
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SLOW_KEY}`, connection: 'close' },
        body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'slowly' }] }),
      });
      const body = (await res.body.json()) as { error?: { code?: unknown } };
      return { status: res.statusCode, code: body.error?.code, retryAfter: res.headers['retry-after'] };
    };
    try {
      const results = await Promise.all(Array.from({ length: 12 }, send));
      expect(peak).toBe(2);
      const admitted = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status !== 200);
      expect(admitted.length).toBe(slow.stats.requests);
      expect(admitted.length).toBeGreaterThanOrEqual(2);
      expect(refused.length).toBe(12 - admitted.length);
      for (const r of refused) expect(r).toEqual({ status: 429, code: 'concurrency_limit_exceeded', retryAfter: '1' });
      // Each worker refused some: the slots are shared, not per worker (3 × 2 would admit 6).
      const refusedBy = new Set(child.logs.filter((l) => l.msg === 'request' && l.tenant === 'narrow' && l.status === 429).map((l) => l.worker));
      expect(refusedBy.size).toBeGreaterThanOrEqual(2);

      // Every slot was given back: two at once are admitted again.
      const again = await Promise.all([send(), send()]);
      expect(again.map((r) => r.status)).toEqual([200, 200]);
      expect(peak).toBe(2);
    } finally {
      clearInterval(sampler);
    }
  }, 30_000);

  it('forwards SIGHUP to every worker, and on SIGTERM every worker drains and the group exits 0', async () => {
    child.child.kill('SIGHUP');
    const reloaded = async (): Promise<number> => new Set(child.logs.filter((l) => l.msg === 'config reloaded').map((l) => l.worker)).size;
    const end = Date.now() + 15_000;
    while ((await reloaded()) < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(await reloaded()).toBe(3);

    child.child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.logs.filter((l) => l.msg === 'drained; exiting')).toHaveLength(3);
    expect(child.logs.some((l) => l.msg === 'all workers exited' && l.failedExits === 0)).toBe(true);
  }, 40_000);
});
