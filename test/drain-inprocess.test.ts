/**
 * D-01 details through the library API (Gateway.shutdown): what a request that is still waiting
 * for its upstream gets at the grace deadline, and a stream cut there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, get, metricValue, startHarness, type Harness } from './helpers/harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('shutdown grace deadline (D-01)', () => {
  it('D-01: at shutdownGraceMs a JSON request still waiting gets 503 shutting_down, a stream gets its chunks then one shutting_down event and no [DONE]; readiness fails from the start', async () => {
    harness = await startHarness({
      fakes: [{ dialect: 'openai' }],
      config: ([fake]) => ({
        server: { drainDelayMs: 150, shutdownGraceMs: 800 },
        deployments: { f: deploymentFor(fake as FakeUpstream) },
        models: { m: { targets: [{ deployment: 'f', model: 'x' }] } },
      }),
    });
    const fake = harness.fakes[0] as FakeUpstream;
    fake.enqueue({ kind: 'hang' }, { kind: 'stall', afterChunks: 2 });
    const waiting = chat(harness.url, chatBody('m'));
    await new Promise((r) => setTimeout(r, 50));
    const stream = chat(harness.url, chatBody('m', { stream: true }));
    while (fake.stats.requests < 2) await new Promise((r) => setTimeout(r, 10));

    const shutdown = harness.gateway.shutdown();
    expect((await get(harness.url, '/ready', null)).status).toBe(503);

    const json = await waiting;
    expect(json.status).toBe(503);
    expect(json.json().error.code).toBe('shutting_down');
    expect(json.headers['x-should-retry']).toBe('true');
    const events = (await stream).events();
    expect(events).toHaveLength(3);
    expect(events).not.toContain('[DONE]');
    expect(JSON.parse(events[2] ?? '{}').error.code).toBe('shutting_down');
    await shutdown;
    // Each request ended with exactly one recorded outcome.
    const text = await harness.gateway.metrics.text();
    expect(metricValue(text, 'gateway_requests_total')).toBe(2);
    expect(metricValue(text, 'gateway_requests_total', { outcome: 'no_available_target' })).toBe(2);
    // Both upstream calls were aborted, not left hanging.
    await fake.waitForAborts(2, 2_000);
  });
});
