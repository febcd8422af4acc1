/**
 * The fair admission queue (issue 15, docs/queueing.md) over real sockets against the fake
 * upstreams: a tenant's burst does not starve another's trickle at a saturated deployment,
 * `low` (batch) requests yield to live ones, a client that leaves while queued is gone at once
 * and leaks nothing, a wait for a concurrency slot ends in a slot or an honest 429, and two
 * replicas sharing Redis slots both wait for them instead of refusing. Scenario ids are those of
 * reliability.md (L-03 isolation under a burst, L-05's concurrency promise, F-20 disconnects).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueLeftEvent } from '../src/queue/wait.js';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, metric, startHarness, waitUntil, type Harness, type HttpResult } from './helpers/harness.js';
import { admin, startAdminHarness } from './helpers/admin.js';
import { adminClient, SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from './helpers/redis.js';

const KEYS = { big: 'sk-queue-big-0123456789', small: 'sk-queue-small-0123456789', batch: 'sk-queue-batch-0123456789', live: 'sk-queue-live-0123456789' };

const harnesses: Harness[] = [];

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

async function start(options: Parameters<typeof startHarness>[0]): Promise<Harness> {
  const h = await startHarness(options);
  harnesses.push(h);
  return h;
}

/** Waits recorded by the gateway itself (its queue events), per tenant. */
function waitRecorder(): { sink: { queueLeft: (e: QueueLeftEvent) => void }; events: QueueLeftEvent[] } {
  const events: QueueLeftEvent[] = [];
  return { sink: { queueLeft: (e) => events.push(e) }, events };
}

/** Polls a metric of `url` until it has `value` (throws after 10 s). */
async function untilMetric(url: string, name: string, labels: Record<string, string>, value: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await metric(url, name, labels)) !== value) {
    if (Date.now() > deadline) throw new Error(`${name} ${JSON.stringify(labels)} did not reach ${value}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

describe('fairness at a saturated deployment', () => {
  it("L-03 with the queue on: two tenants, 50 concurrent against 2 concurrent on 4 connections: the small tenant's p99 wait stays within one service time, nothing waits past its deadline, nothing is lost", async () => {
    const SERVICE_MS = 250;
    const TOTAL_MS = 30_000;
    const recorder = waitRecorder();
    const h = await start({
      fakes: [{ dialect: 'openai', behaviour: { latencyMs: SERVICE_MS } }],
      eventSinks: [recorder.sink],
      config: (f) => ({
        timeouts: { totalMs: TOTAL_MS, firstByteMs: 10_000 },
        queue: { maxWaitMs: 20_000, maxPerTenant: 100, maxTotal: 200 },
        deployments: { four: deploymentFor(f[0] as FakeUpstream, { maxConnections: 4 }) },
        models: { m: { targets: [{ deployment: 'four', model: 'x' }] } },
        tenants: { big: { keys: [KEYS.big] }, small: { keys: [KEYS.small] } },
      }),
    });
    const results: Array<{ tenant: string; res: HttpResult | Error; ms: number }> = [];
    let smallDone = false;
    const one = async (tenant: 'big' | 'small'): Promise<void> => {
      const startMs = performance.now();
      const res = await chat(h.url, chatBody('m'), { key: KEYS[tenant], signal: AbortSignal.timeout(TOTAL_MS + 5_000) }).catch((err: unknown) => err as Error);
      results.push({ tenant, res, ms: performance.now() - startMs });
    };
    // Closed loops: each client sends its next request when the previous one is answered.
    const small = Array.from({ length: 2 }, async () => {
      for (let i = 0; i < 15; i++) await one('small');
    });
    const big = Array.from({ length: 50 }, async () => {
      while (!smallDone) await one('big');
    });
    await Promise.all(small);
    smallDone = true;
    await Promise.all(big);

    // Every request got exactly one answer, a 200, well inside its deadline.
    for (const r of results) {
      expect(r.res, String(r.res)).not.toBeInstanceOf(Error);
      expect((r.res as HttpResult).status, (r.res as HttpResult).text).toBe(200);
      expect(r.ms).toBeLessThan(TOTAL_MS);
    }
    const sent = { big: results.filter((r) => r.tenant === 'big').length, small: results.filter((r) => r.tenant === 'small').length };
    expect(sent.small).toBe(30);
    // The big tenant really saturated the deployment: it waited, and it got its share.
    expect(sent.big).toBeGreaterThan(50);
    // One recorded outcome per request, all of them successes.
    expect(await metric(h.url, 'gateway_requests_total', { outcome: 'success' })).toBe(sent.big + sent.small);
    const waits = (tenant: string): number[] => recorder.events.filter((e) => e.tenant === tenant && e.reason === 'pool').map((e) => e.waitMs);
    expect(recorder.events.every((e) => e.outcome === 'admitted')).toBe(true);
    // The service time as measured: what a request of the small tenant took beyond its wait
    // (the upstream's latency plus the gateway's and the sockets' own time).
    const smallWaitTotal = waits('small').reduce((a, b) => a + b, 0);
    const serviceMs = (results.filter((r) => r.tenant === 'small').reduce((a, r) => a + r.ms, 0) - smallWaitTotal) / sent.small;
    expect(serviceMs).toBeGreaterThanOrEqual(SERVICE_MS);
    // The small tenant waits for at most the next connection to free up: within one service time.
    expect(quantile(waits('small'), 0.99)).toBeLessThanOrEqual(serviceMs);
    // While the big tenant's burst waits many service times.
    expect(quantile(waits('big'), 0.5)).toBeGreaterThan(2 * serviceMs);
    expect(await metric(h.url, 'gateway_queue_depth', { reason: 'pool', priority: 'normal' })).toBe(0);
  }, 90_000);
});

describe('priority classes', () => {
  it('a freed connection goes to a waiting normal request before any low (batch) one that came earlier', async () => {
    const h = await start({
      fakes: [{ dialect: 'openai', behaviour: { latencyMs: 150 } }],
      config: (f) => ({
        timeouts: { totalMs: 20_000 },
        queue: { maxWaitMs: 15_000, maxTotal: 50 },
        deployments: { one: deploymentFor(f[0] as FakeUpstream, { maxConnections: 1 }) },
        models: { m: { targets: [{ deployment: 'one', model: 'x' }] } },
        tenants: {
          batch: { keys: [KEYS.batch], queue: { priority: 'low' } },
          live: { keys: [KEYS.live] },
        },
      }),
    });
    const [fake] = h.fakes as [FakeUpstream];
    const say = (text: string): Record<string, unknown> => chatBody('m', { messages: [{ role: 'user', content: text }] });
    // The one connection is held until every other request is queued (its client then leaves).
    fake.enqueue({ kind: 'hang' });
    const holder = new AbortController();
    const first = chat(h.url, say('first'), { key: KEYS.batch, signal: holder.signal }).catch((err: unknown) => err);
    await waitUntil(() => fake.stats.requests === 1);
    const lows = [1, 2, 3].map((i) => chat(h.url, say(`low${i}`), { key: KEYS.batch }));
    await untilMetric(h.url, 'gateway_queue_depth', { reason: 'pool', priority: 'low' }, 3);
    // A live key asking for low is honoured (asking for less is always allowed) ...
    const askedLow = chat(h.url, say('asked-low'), { key: KEYS.live, headers: { 'x-gateway-priority': 'low' } });
    await untilMetric(h.url, 'gateway_queue_depth', { reason: 'pool', priority: 'low' }, 4);
    // ... and a batch key asking for high is lowered to its ceiling (normal), not refused.
    const lifted = chat(h.url, say('lifted'), { key: KEYS.batch, headers: { 'x-gateway-priority': 'high' } });
    const normal = chat(h.url, say('normal'), { key: KEYS.live });
    await untilMetric(h.url, 'gateway_queue_depth', { reason: 'pool', priority: 'normal' }, 2);
    holder.abort();
    await first;
    const all = await Promise.all([...lows, askedLow, lifted, normal]);
    for (const r of all) expect(r.status, r.text).toBe(200);
    expect((await lifted).headers['x-gateway-priority']).toBe('normal');
    expect((await askedLow).headers['x-gateway-priority']).toBe('low');
    const order = fake.received.filter((r) => r.path.endsWith('/chat/completions')).map((r) => (r.body as { messages: Array<{ content: string }> }).messages[0]!.content);
    expect(order[0]).toBe('first');
    // Both normal requests before every low one, whatever their arrival order.
    expect(order.slice(1, 3).sort()).toEqual(['lifted', 'normal']);
    expect(order.slice(3).sort()).toEqual(['asked-low', 'low1', 'low2', 'low3']);
    // FIFO within a tenant (the batch tenant's own low requests keep their order).
    expect(order.filter((t) => t.startsWith('low'))).toEqual(['low1', 'low2', 'low3']);
  }, 30_000);

  it('a priority header that names no class is a 400 naming it', async () => {
    const h = await start({
      fakes: [{ dialect: 'openai' }],
      config: (f) => ({ deployments: { d: deploymentFor(f[0] as FakeUpstream) }, models: { m: { targets: [{ deployment: 'd', model: 'x' }] } } }),
    });
    const res = await chat(h.url, chatBody('m'), { headers: { 'x-gateway-priority': 'urgent' } });
    expect(res.status).toBe(400);
    expect(res.json().error.param).toBe('x-gateway-priority');
  });
});

describe('waiting for a concurrency slot', () => {
  function slotConfig(f: readonly FakeUpstream[], maxWaitMs: number): Record<string, unknown> {
    return {
      timeouts: { totalMs: 20_000 },
      queue: { maxWaitMs },
      deployments: { d: deploymentFor(f[0] as FakeUpstream, { maxConnections: 16 }) },
      models: { m: { targets: [{ deployment: 'd', model: 'x' }] } },
      tenants: { main: { concurrency: { maxInFlight: 1 } } },
    };
  }

  it('F-20: a request that waits for a slot and whose client leaves is gone from the queue at once; the slot it never got is not leaked', async () => {
    const h = await start({ fakes: [{ dialect: 'openai' }], config: (f) => slotConfig(f, 15_000) });
    const [fake] = h.fakes as [FakeUpstream];
    // The tenant's one slot is held (the upstream never answers) until the test lets it go.
    fake.enqueue({ kind: 'hang' });
    const holder = new AbortController();
    const holding = chat(h.url, chatBody('m'), { signal: holder.signal }).catch((err: unknown) => err);
    await waitUntil(() => fake.stats.requests === 1);
    const leaving = new AbortController();
    const abandoned = chat(h.url, chatBody('m'), { signal: leaving.signal }).catch((err: unknown) => err);
    await untilMetric(h.url, 'gateway_queue_depth', { reason: 'concurrency', priority: 'normal' }, 1);
    leaving.abort();
    await abandoned;
    await untilMetric(h.url, 'gateway_queue_depth', { reason: 'concurrency', priority: 'normal' }, 0);
    holder.abort();
    await holding;
    // The one slot is free again: had the abandoned request kept one, this would wait 15 s and get a 429.
    const next = await chat(h.url, chatBody('m'), { signal: AbortSignal.timeout(10_000) });
    expect(next.status, next.text).toBe(200);
    expect(fake.stats.requests).toBe(2);
    expect(await metric(h.url, 'gateway_queue_wait_seconds_count', { reason: 'concurrency', priority: 'normal', outcome: 'client_gone' })).toBe(1);
    await untilMetric(h.url, 'gateway_requests_total', { outcome: 'client_disconnect' }, 2);
  });

  it('waits for the slot instead of a 429, and when the wait limit passes answers 429 with a Retry-After', async () => {
    const h = await start({ fakes: [{ dialect: 'openai', behaviour: { latencyMs: 100 } }], config: (f) => slotConfig(f, 2_000) });
    const [fake] = h.fakes as [FakeUpstream];
    fake.enqueue({ kind: 'hang' });
    const holder = new AbortController();
    const holding = chat(h.url, chatBody('m'), { signal: holder.signal }).catch((err: unknown) => err);
    await waitUntil(() => fake.stats.requests === 1);
    const refused = await chat(h.url, chatBody('m'));
    expect(refused.status).toBe(429);
    expect(refused.json().error.code).toBe('concurrency_limit_exceeded');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    holder.abort();
    await holding;
    // A request arriving while the slot is held is admitted as soon as it frees, within the wait.
    fake.enqueue({ kind: 'hang' });
    const second = new AbortController();
    const a = chat(h.url, chatBody('m'), { signal: second.signal }).catch((err: unknown) => err);
    await waitUntil(() => fake.stats.requests === 2);
    const b = chat(h.url, chatBody('m'));
    await untilMetric(h.url, 'gateway_queue_depth', { reason: 'concurrency', priority: 'normal' }, 1);
    second.abort();
    await a;
    const admitted = await b;
    expect(admitted.status, admitted.text).toBe(200);
    expect(await metric(h.url, 'gateway_queue_refusals_total', { reason: 'concurrency', outcome: 'timeout' })).toBe(1);
    expect(await metric(h.url, 'gateway_queue_wait_seconds_count', { reason: 'concurrency', priority: 'normal', outcome: 'admitted' })).toBeGreaterThanOrEqual(1);
  });
});

const redis = await sharedRedisAvailable();

describe.skipIf(!redis)('two replicas sharing Redis concurrency slots', () => {
  it('L-05 (concurrency, queued): each replica queues its own requests for the shared slots: none is refused, and no more than maxInFlight run at once across both', async () => {
    const prefix = uniquePrefix('queue');
    const fake = await FakeUpstream.start({ dialect: 'openai', behaviour: { latencyMs: 200 } });
    try {
      const config = (): Record<string, unknown> => ({
        timeouts: { totalMs: 20_000 },
        state: { backend: 'redis', redis: { url: '${env:REDIS_URL}', keyPrefix: prefix }, expectedReplicas: 2 },
        queue: { maxWaitMs: 15_000, pollMs: 20 },
        deployments: { d: deploymentFor(fake, { maxConnections: 16 }) },
        models: { m: { targets: [{ deployment: 'd', model: 'x' }] } },
        tenants: { main: { concurrency: { maxInFlight: 2 } } },
      });
      const env = { REDIS_URL: SHARED_REDIS_URL };
      const [one, two] = await Promise.all([start({ env, config }), start({ env, config })]);
      let inFlight = 0;
      let most = 0;
      const sample = setInterval(() => {
        inFlight = fake.stats.requests - fake.stats.completed - fake.stats.aborted;
        most = Math.max(most, inFlight);
      }, 5);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => chat((i % 2 ? one : two)!.url, chatBody('m'), { signal: AbortSignal.timeout(25_000) })));
      clearInterval(sample);
      for (const r of results) expect(r.status, r.text).toBe(200);
      expect(most).toBeLessThanOrEqual(2);
      expect(fake.stats.requests).toBe(10);
      // Both replicas waited (their own queues), and both ended with nobody waiting.
      for (const h of [one, two]) {
        expect(await metric(h!.url, 'gateway_queue_wait_seconds_count', { reason: 'concurrency', priority: 'normal', outcome: 'admitted' })).toBeGreaterThan(0);
        expect(await metric(h!.url, 'gateway_queue_depth', { reason: 'concurrency', priority: 'normal' })).toBe(0);
      }
    } finally {
      await fake.close();
      const client = adminClient();
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    }
  }, 60_000);
});

describe('queue settings of teams made through the admin API', () => {
  it('a team stored with queue settings gets its class: its header may ask up to its maxPriority, and the settings can be removed', async () => {
    const h = await startAdminHarness(['m']);
    harnesses.push(h);
    const created = await admin(h.url, 'POST', '/teams', { name: 'vip', models: ['m'], queue: { weight: 5, priority: 'normal', maxPriority: 'high' } });
    expect(created.status, created.text).toBe(201);
    expect(created.body.queue).toEqual({ weight: 5, priority: 'normal', maxPriority: 'high' });
    const refused = await admin(h.url, 'POST', '/teams', { name: 'bad', queue: { priority: 'high', maxPriority: 'low' } });
    expect(refused.status).toBe(400);
    const key = await admin(h.url, 'POST', '/keys', { team: 'vip' });
    expect(key.status, key.text).toBe(201);
    const asked = await chat(h.url, chatBody('m'), { key: key.body.key, headers: { 'x-gateway-priority': 'high' } });
    expect(asked.status, asked.text).toBe(200);
    expect(asked.headers['x-gateway-priority']).toBe('high');
    const patched = await admin(h.url, 'PATCH', '/teams/vip', { queue: null });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.queue).toBeNull();
    // Without settings the header is lowered to normal (the change reaches the snapshot shortly).
    let last: HttpResult | undefined;
    for (let i = 0; i < 50 && last?.headers['x-gateway-priority'] !== 'normal'; i++) {
      last = await chat(h.url, chatBody('m'), { key: key.body.key, headers: { 'x-gateway-priority': 'high' } });
      if (last.headers['x-gateway-priority'] !== 'normal') await new Promise((r) => setTimeout(r, 50));
    }
    expect(last?.headers['x-gateway-priority']).toBe('normal');
  });
});

describe('waiting out a cooldown', () => {
  it('a request whose only deployment cools down for longer than retry.maxRetryAfterMs waits it out when it fits queue.maxWaitMs (and is refused at once without the queue)', async () => {
    const run = async (maxWaitMs: number): Promise<{ res: HttpResult; waited: number }> => {
      const h = await start({
        fakes: [{ dialect: 'openai' }],
        config: (f) => ({
          timeouts: { totalMs: 15_000 },
          retry: { maxRetryAfterMs: 100, maxAttempts: 3 },
          queue: { maxWaitMs },
          deployments: { hot: deploymentFor(f[0] as FakeUpstream) },
          models: { m: { targets: [{ deployment: 'hot', model: 'x' }] } },
        }),
      });
      const [fake] = h.fakes as [FakeUpstream];
      fake.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
      const res = await chat(h.url, chatBody('m'));
      return { res, waited: await metric(h.url, 'gateway_queue_wait_seconds_count', { reason: 'cooldown', priority: 'normal', outcome: 'admitted' }) };
    };
    const without = await run(0);
    expect(without.res.status).toBe(429);
    expect(without.waited).toBe(0);
    const withQueue = await run(3_000);
    expect(withQueue.res.status, withQueue.res.text).toBe(200);
    expect(withQueue.res.headers['x-gateway-attempts']).toBe('2');
    expect(withQueue.waited).toBe(1);
  });
});
