/**
 * `llm-gateway serve --workers 3` (node:cluster) in a child process: L-05 exactness across
 * workers (one limiter in the primary, reached over IPC), /metrics for the whole group, crash
 * restart, SIGHUP forwarding, and a drained exit 0 on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { startChildGateway, type ChildGateway } from './helpers/child-gateway.js';
import { KEY, metricValue } from './helpers/harness.js';

let fake: FakeUpstream;
let child: ChildGateway;
let url: string;

beforeAll(async () => {
  fake = await FakeUpstream.start({ dialect: 'openai', behaviour: { latencyMs: 5 } });
  child = startChildGateway({
    args: ['--workers', '3'],
    config: {
      server: { host: '127.0.0.1', port: 0, drainDelayMs: 100, shutdownGraceMs: 5_000 },
      logging: { level: 'info', format: 'json' },
      deployments: { f: { provider: 'openai', baseUrl: fake.baseUrl } },
      models: { m: { targets: [{ deployment: 'f', model: 'gpt-x' }] } },
      // Capacity 100, refill negligible: exactly 100 admissions in the test's lifetime.
      tenants: { main: { keys: [KEY], limits: { requests: { capacity: 100, refillPerSecond: 0.0001 } } } },
    },
  });
  await child.waitForLog((l) => l.msg === 'all workers listening', 40_000);
  url = String(child.logs.find((l) => l.msg === 'llm-gateway listening')?.url);
}, 60_000);

afterAll(async () => {
  await child?.cleanup();
  await fake?.close();
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
