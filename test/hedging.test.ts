/**
 * Hedging by time to first token (issue 14, docs/routing.md "Hedging"), over real sockets: one
 * deployment slow to answer, one fast. A request not answered within `afterMs` starts again on
 * the fast one, which answers; the slow one's connection is closed (the fake sees the abort),
 * the request ends in one recorded outcome, and `gateway_hedges_total` counts it. Under a burst
 * the hedge budget holds hedges to their share.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestFinishedEvent } from '../src/observability/events.js';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, get, startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The slow deployment answers after 1.5 s; the alias hedges after 100 ms. */
async function start(maxPercent: number): Promise<{ harness: Harness; slow: FakeUpstream; fast: FakeUpstream; finished: RequestFinishedEvent[] }> {
  const finished: RequestFinishedEvent[] = [];
  h = await startHarness({
    fakes: [
      { dialect: 'openai', name: 'slow', behaviour: { latencyMs: 1_500 } },
      { dialect: 'openai', name: 'fast' },
    ],
    eventSinks: [{ requestFinished: (e) => finished.push(e) }],
    config: (f) => ({
      deployments: { slow: deploymentFor(f[0] as FakeUpstream), fast: deploymentFor(f[1] as FakeUpstream) },
      // `priority` sends every first attempt to the slow one.
      models: { m: { strategy: 'priority', hedge: { afterMs: 100, maxPercent }, targets: [{ deployment: 'slow', model: 'x', priority: 0 }, { deployment: 'fast', model: 'y', priority: 1 }] } },
    }),
  });
  return { harness: h, slow: h.fakes[0] as FakeUpstream, fast: h.fakes[1] as FakeUpstream, finished };
}

const hedges = async (harness: Harness, outcome: string): Promise<number> => {
  const m = new RegExp(`gateway_hedges_total\\{model="m",outcome="${outcome}"\\} (\\d+)`).exec((await get(harness.url, '/metrics', null)).text);
  return m ? Number(m[1]) : 0;
};

describe('hedging', () => {
  it('a stream whose first token is late on the slow deployment is answered by the hedge; the slow connection is closed; one outcome', async () => {
    const { harness, slow, fast, finished } = await start(100);
    // Headers at once, the first token late: the commit point is what the hedge waits for.
    slow.setBehaviour({ latencyMs: 0, ttftMs: 1_500 });
    const res = await chat(harness.url, chatBody('m', { stream: true }), { signal: AbortSignal.timeout(20_000) });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('fast');
    expect(res.headers['x-gateway-attempts']).toBe('2');
    const events = res.events();
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.slice(0, -1).map((e) => (JSON.parse(e) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '').join('')).toContain('Hello from fast');
    await slow.waitForAborts(1, 5_000);
    expect(slow.stats.completed).toBe(0);
    expect(fast.stats.requests).toBe(1);
    await expect.poll(() => finished.length).toBe(1);
    const [record] = finished;
    expect(record).toMatchObject({ outcome: 'success', deployment: 'fast', attempts: 2 });
    expect(record?.attemptLog?.map((a) => [a.n, a.deployment, a.outcome])).toEqual(
      expect.arrayContaining([
        [1, 'slow', 'aborted'],
        [2, 'fast', 'success'],
      ]),
    );
    expect(await hedges(harness, 'started')).toBe(1);
    expect(await hedges(harness, 'won')).toBe(1);
  });

  it('a JSON request is answered by the hedge; the slow one is aborted, not counted against its breaker', async () => {
    const { harness, slow, finished } = await start(100);
    for (let i = 1; i <= 3; i++) {
      const res = await chat(harness.url, chatBody('m'), { signal: AbortSignal.timeout(20_000) });
      expect(res.status, res.text).toBe(200);
      expect(res.headers['x-gateway-provider']).toBe('fast');
      expect((res.json() as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toContain('Hello from fast');
      await slow.waitForAborts(i, 5_000);
    }
    await expect.poll(() => finished.length).toBe(3);
    expect(finished.map((e) => e.outcome)).toEqual(['success', 'success', 'success']);
    // The pair's overlapping upstream waits count once: the gateway's overhead is never negative.
    for (const e of finished) expect(e.upstreamMs).toBeLessThanOrEqual(e.durationMs);
    const metrics = (await get(harness.url, '/metrics', null)).text;
    // Three losers at the default threshold of three failures: the breaker would be open had they counted.
    expect(metrics).toMatch(/gateway_circuit_breaker_state\{deployment="slow"\} 0/);
    expect(await hedges(harness, 'won')).toBe(3);
  });

  it('under a burst the budget holds hedges to their share; the rest wait for the slow deployment', async () => {
    const { harness, slow, finished } = await start(10);
    const burst = await Promise.all(Array.from({ length: 20 }, () => chat(harness.url, chatBody('m'), { signal: AbortSignal.timeout(20_000) })));
    expect(burst.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
    const byFast = burst.filter((r) => r.headers['x-gateway-provider'] === 'fast').length;
    // 10 % of 20 requests.
    expect(byFast).toBe(2);
    expect(await hedges(harness, 'started')).toBe(2);
    expect(await hedges(harness, 'budget_exhausted')).toBe(18);
    expect(slow.stats.completed).toBe(18);
    await expect.poll(() => finished.length).toBe(20);
  });
});
