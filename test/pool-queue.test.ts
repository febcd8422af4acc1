/**
 * Waiting for an upstream connection (issue 9 §3 and §4): a call that finds every connection
 * of its deployment busy waits in a bounded, fair queue that the client's disconnect, the
 * deadline and the wait limit all end at once. Each deployment has its own pool, and one tenant
 * holds at most its share of it. Real sockets against the fake upstreams.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, get, KEY, startHarness, type Harness, type HttpResult, waitUntil } from './helpers/harness.js';

let h: Harness | undefined;
const clients: AbortController[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.abort();
  await h?.close();
  h = undefined;
});

/** A request left running in the background: it holds a connection until the test ends. */
function background(url: string, body: Record<string, unknown>, key = KEY): Promise<HttpResult | Error> {
  const controller = new AbortController();
  clients.push(controller);
  return chat(url, body, { key, signal: controller.signal }).catch((err: unknown) => err as Error);
}

/** A request the test waits for, which must be answered well before its deadline. */
function answered(url: string, body: Record<string, unknown>, key = KEY): Promise<HttpResult> {
  return chat(url, body, { key, signal: AbortSignal.timeout(15_000) });
}

describe('waiting for an upstream connection', () => {
  it('F-20: a request queued behind a busy connection ends when its client leaves, and frees its concurrency slot at once', async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai' }, { dialect: 'openai' }],
      config: (f) => ({
        timeouts: { totalMs: 60_000, firstByteMs: 60_000 },
        deployments: { busy: deploymentFor(f[0] as FakeUpstream, { maxConnections: 1 }), other: deploymentFor(f[1] as FakeUpstream) },
        models: { m: { targets: [{ deployment: 'busy', model: 'x' }] }, o: { targets: [{ deployment: 'other', model: 'y' }] } },
        tenants: { main: { keys: [KEY], models: ['*'], concurrency: { maxInFlight: 2 } } },
      }),
    });
    const [busy] = h.fakes as [FakeUpstream];
    busy.enqueue({ kind: 'hang' });
    void background(h.url, chatBody('m'));
    await waitUntil(() => busy.stats.requests === 1, 10_000);
    const leaving = new AbortController();
    const queued = chat(h.url, chatBody('m'), { signal: leaving.signal }).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 300));
    leaving.abort();
    await queued;
    // The hanging request holds one slot; the abandoned one must not hold the other.
    let last: HttpResult | undefined;
    for (let i = 0; i < 50 && last?.status !== 200; i++) {
      last = await answered(h.url, chatBody('o'));
      if (last.status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(last?.status, last?.text).toBe(200);
    expect(busy.stats.requests).toBe(1);
  });

  it('a request that finds every connection busy gets 503 upstream_saturated with Retry-After after timeouts.poolQueueMs, not a hang to its deadline', async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai' }],
      config: (f) => ({
        timeouts: { totalMs: 60_000, firstByteMs: 60_000 },
        deployments: { busy: deploymentFor(f[0] as FakeUpstream, { maxConnections: 1 }) },
        models: { m: { targets: [{ deployment: 'busy', model: 'x' }] } },
      }),
    });
    const [busy] = h.fakes as [FakeUpstream];
    busy.enqueue({ kind: 'hang' });
    void background(h.url, chatBody('m'));
    await waitUntil(() => busy.stats.requests === 1, 10_000);
    const res = await answered(h.url, chatBody('m', { stream: true }));
    expect(res.status, res.text).toBe(503);
    expect(res.json().error.code).toBe('upstream_saturated');
    expect(res.headers['retry-after']).toBe('1');
    expect(busy.stats.requests).toBe(1);
    const metrics = await get(h.url, '/metrics', null);
    expect(metrics.text).toMatch(/gateway_upstream_attempts_total\{deployment="busy",outcome="saturated"\} 1/);
  });

  it('a saturated deployment is skipped: the request is served by another deployment of the alias', async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai', name: 'busy' }, { dialect: 'openai', name: 'spare' }],
      config: (f) => ({
        timeouts: { totalMs: 60_000, firstByteMs: 60_000, poolQueueMs: 200 },
        deployments: { busy: deploymentFor(f[0] as FakeUpstream, { maxConnections: 1 }), spare: deploymentFor(f[1] as FakeUpstream) },
        models: {
          only: { targets: [{ deployment: 'busy', model: 'x' }] },
          m: { strategy: 'priority', targets: [{ deployment: 'busy', model: 'x', priority: 0 }, { deployment: 'spare', model: 'y', priority: 1 }] },
        },
      }),
    });
    const [busy, spare] = h.fakes as [FakeUpstream, FakeUpstream];
    busy.enqueue({ kind: 'hang' });
    void background(h.url, chatBody('only'));
    await waitUntil(() => busy.stats.requests === 1, 10_000);
    const res = await answered(h.url, chatBody('m'));
    expect(res.status, res.text).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('spare');
    expect(res.headers['x-gateway-attempts']).toBe('2');
    expect(spare.stats.requests).toBe(1);
    // Saturation says nothing about the deployment's health: three in a row leave its breaker closed.
    for (let i = 0; i < 3; i++) expect((await answered(h.url, chatBody('only'))).json().error.code).toBe('upstream_saturated');
    const metrics = await get(h.url, '/metrics', null);
    expect(metrics.text).toMatch(/gateway_circuit_breaker_state\{deployment="busy"\} 0/);
  });

  it("one tenant holding every connection of a deployment starves neither another deployment on the same origin nor another tenant's call to it", async () => {
    const keyA = 'sk-test-tenant-a-0123456789';
    const keyB = 'sk-test-tenant-b-0123456789';
    h = await startHarness({
      fakes: [{ dialect: 'openai' }],
      config: (f) => ({
        timeouts: { totalMs: 60_000, firstByteMs: 60_000 },
        // Two deployments on one origin: X is the one tenant A floods, Y is unrelated.
        deployments: { x: deploymentFor(f[0] as FakeUpstream, { maxConnections: 4 }), y: deploymentFor(f[0] as FakeUpstream, { maxConnections: 4 }) },
        models: { mx: { targets: [{ deployment: 'x', model: 'big' }] }, my: { targets: [{ deployment: 'y', model: 'small' }] } },
        tenants: { a: { keys: [keyA], models: ['*'] }, b: { keys: [keyB], models: ['*'] } },
      }),
    });
    const [fake] = h.fakes as [FakeUpstream];
    fake.setBehaviour({ latencyMs: 120_000 });
    const flood = Array.from({ length: 4 }, () => background(h!.url, chatBody('mx'), keyA));
    // Three reach the upstream (tenant A's share of X's 4 connections, 75%); on a shared pool, four.
    await waitUntil(() => fake.stats.requests >= 3, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    fake.setBehaviour({ latencyMs: 0 });

    const otherDeployment = await answered(h.url, chatBody('my'), keyB);
    expect(otherDeployment.status, otherDeployment.text).toBe(200);
    const sameDeployment = await answered(h.url, chatBody('mx'), keyB);
    expect(sameDeployment.status, sameDeployment.text).toBe(200);
    // Tenant A's fourth call waited for its share and was refused, never sent.
    const fourth = await Promise.race([...flood.map((p) => p.then((r) => (r instanceof Error ? undefined : r)))]);
    expect(fourth?.status).toBe(503);
    expect(fourth?.json().error.code).toBe('upstream_saturated');
    expect(fake.stats.requests).toBe(5);
  });
});
