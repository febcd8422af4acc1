/**
 * Attack on gateway_circuit_breaker_state and the LLMGatewayCircuitBreakerOpen alert built on
 * it: breakers own no timers and only change state when read, and the gauge only moved on a
 * transition. A deployment whose breaker opened and that then got no traffic (its alias idle,
 * a fallback-only target, one worker of several) showed "open" for ever, so the alert fired for
 * ever on a breaker that would admit its probe at once. A scrape must show the state as of now.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import type { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, metricValue, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('gateway_circuit_breaker_state', () => {
  it('an open breaker whose open period has passed shows half-open at the next scrape, without traffic', async () => {
    let shiftMs = 0;
    const clock: Clock = { nowMs: () => performance.now() + shiftMs, wallMs: () => Date.now() + shiftMs };
    h = await startHarness({
      fakes: [{ dialect: 'openai' }],
      clock,
      config: (f) => ({
        retry: { maxAttempts: 1 },
        circuitBreaker: { failureThreshold: 2, openMs: 30_000, jitterRatio: 0 },
        deployments: { d: deploymentFor(f[0] as FakeUpstream) },
        models: { m: { targets: [{ deployment: 'd', model: 'x' }] } },
      }),
    });
    (h.fakes[0] as FakeUpstream).enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    for (let i = 0; i < 2; i++) expect((await chat(h.url, chatBody('m'))).status).toBe(502);
    expect(metricValue(await h.gateway.metrics.text(), 'gateway_circuit_breaker_state', { deployment: 'd' })).toBe(1);
    // The open period passes with no request: the breaker would admit a probe now.
    shiftMs += 31_000;
    expect(metricValue(await h.gateway.metrics.text(), 'gateway_circuit_breaker_state', { deployment: 'd' })).toBe(2);
    // And the probe closes it as before.
    expect((await chat(h.url, chatBody('m'))).status).toBe(200);
    expect(metricValue(await h.gateway.metrics.text(), 'gateway_circuit_breaker_state', { deployment: 'd' })).toBe(0);
  });
});
