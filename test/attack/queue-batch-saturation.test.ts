/**
 * Attack on the fair queue (docs/queueing.md): low-priority (batch) calls saturating a
 * deployment, its connection and every waiting place, must not lock live traffic out. Before the
 * fix a full waiting queue refused the live call at once (503 upstream_saturated) although it
 * would have been served before every low call waiting. The queue is off here (`queue.maxWaitMs`
 * 0): the deployment keeps its old bound of 4 waiting calls per connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, metric, startHarness, waitUntil, type Harness } from '../helpers/harness.js';

const KEYS = { batch: 'sk-attack-queue-batch-0123456789', live: 'sk-attack-queue-live-0123456789' };

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Polls a metric of `url` until it has `value` (throws after 10 s). */
async function untilMetric(url: string, name: string, labels: Record<string, string>, value: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await metric(url, name, labels)) !== value) {
    if (Date.now() > deadline) throw new Error(`${name} ${JSON.stringify(labels)} did not reach ${value}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('low (batch) calls filling a deployment and its waiting places', () => {
  it('a live call still waits for the next connection (ahead of every low call) instead of a 503 at once; the newest low call gives up its place', async () => {
    harness = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { latencyMs: 100 } }],
      config: (f) => ({
        timeouts: { totalMs: 20_000, poolQueueMs: 15_000 },
        deployments: { one: deploymentFor(f[0] as FakeUpstream, { maxConnections: 1 }) },
        models: { m: { targets: [{ deployment: 'one', model: 'x' }] } },
        tenants: {
          batch: { keys: [KEYS.batch], queue: { priority: 'low' } },
          live: { keys: [KEYS.live] },
        },
      }),
    });
    const h = harness;
    const [fake] = h.fakes as [FakeUpstream];
    const say = (text: string): Record<string, unknown> => chatBody('m', { messages: [{ role: 'user', content: text }] });
    // The one connection is held by a low call until the test lets it go.
    fake.enqueue({ kind: 'hang' });
    const holder = new AbortController();
    const holding = chat(h.url, say('holder'), { key: KEYS.batch, signal: holder.signal }).catch((err: unknown) => err);
    await waitUntil(() => fake.stats.requests === 1);
    // Every waiting place (4 per connection) taken by low calls.
    const lows = [1, 2, 3, 4].map((i) => chat(h.url, say(`low${i}`), { key: KEYS.batch }));
    await untilMetric(h.url, 'gateway_queue_depth', { reason: 'pool', priority: 'low' }, 4);
    const live = chat(h.url, say('live'), { key: KEYS.live });
    await untilMetric(h.url, 'gateway_queue_depth', { reason: 'pool', priority: 'normal' }, 1);
    holder.abort();
    await holding;
    const liveRes = await live;
    expect(liveRes.status, liveRes.text).toBe(200);
    const lowRes = await Promise.all(lows);
    // The newest low call gave its place to the live one: refused as from a full queue.
    expect(lowRes.map((r) => r.status)).toEqual([200, 200, 200, 503]);
    expect(lowRes[3]!.json().error.code).toBe('upstream_saturated');
    const order = fake.received.filter((r) => r.path.endsWith('/chat/completions')).map((r) => (r.body as { messages: Array<{ content: string }> }).messages[0]!.content);
    expect(order).toEqual(['holder', 'live', 'low1', 'low2', 'low3']);
    await untilMetric(h.url, 'gateway_queue_depth', { reason: 'pool', priority: 'low' }, 0);
    expect(await metric(h.url, 'gateway_queue_wait_seconds_count', { reason: 'pool', priority: 'low', outcome: 'full' })).toBe(1);
  }, 30_000);
});
