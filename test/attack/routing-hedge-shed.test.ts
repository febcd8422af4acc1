/**
 * Attack on issue 14 (hedging × predicted_latency shedding), over real sockets. An alias on
 * `predicted_latency` with `onSloMiss: shed` and a hedge: a request with an SLO goes to the one
 * deployment predicted to meet it; that deployment turns slow, so the hedge is due; the hedge's
 * pick (the untried deployments only) has none predicted to meet the SLO, and the strategy
 * refuses. That refusal must cost only the hedge: the request goes on and is served by its first
 * attempt. Before the fix the client got 503 slo_unattainable at once while the first attempt
 * ran on, unowned (its stream never ended, its in-flight count never given back).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestFinishedEvent } from '../../src/observability/events.js';
import type { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('hedging on a shedding predicted_latency alias', () => {
  it('a hedge the strategy refuses leaves the request to its first attempt: served, one outcome', async () => {
    const finished: RequestFinishedEvent[] = [];
    h = await startHarness({
      fakes: [
        { dialect: 'openai', name: 'fast' },
        { dialect: 'openai', name: 'slow', behaviour: { ttftMs: 500 } },
      ],
      eventSinks: [{ requestFinished: (e) => finished.push(e) }],
      config: (f) => ({
        timeouts: { totalMs: 15_000, firstByteMs: 10_000, idleMs: 10_000 },
        deployments: { fast: deploymentFor(f[0] as FakeUpstream), slow: deploymentFor(f[1] as FakeUpstream) },
        models: {
          m: {
            strategy: 'predicted_latency',
            onSloMiss: 'shed',
            hedge: { afterMs: 800, maxPercent: 100 },
            targets: [
              { deployment: 'fast', model: 'x' },
              { deployment: 'slow', model: 'y' },
            ],
          },
        },
      }),
    });
    const [fast, slow] = h.fakes as [FakeUpstream, FakeUpstream];
    const stream = (headers: Record<string, string> = {}) => chat(h!.url, chatBody('m', { stream: true }), { headers, signal: AbortSignal.timeout(20_000) });
    // Each deployment is measured once (a never-measured one gets the next request as a trial),
    // both within the hedge's threshold.
    for (let i = 0; i < 2; i++) expect((await stream()).status).toBe(200);
    expect(fast.stats.requests).toBe(1);
    expect(slow.stats.requests).toBe(1);

    // Only `fast` is predicted to meet a 300 ms TTFT (`slow` took 500 ms); then it turns slow to
    // its first token, so the hedge is due after 800 ms and its pick, [slow], is shed.
    fast.setBehaviour({ ttftMs: 2_000 });
    const res = await stream({ 'x-gateway-slo-ttft-ms': '300' });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('fast');
    expect(res.events().at(-1)).toBe('[DONE]');
    expect(slow.stats.requests).toBe(1);
    await expect.poll(() => finished.length).toBe(3);
    expect(finished[2]).toMatchObject({ outcome: 'success', deployment: 'fast', attempts: 1 });
  });
});
