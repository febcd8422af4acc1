import { describe, expect, it } from 'vitest';
import type { AttemptEvent, RequestFinishedEvent } from '../events.js';
import { HISTORY_TICKS, LiveAggregator, MAX_NAMED_PER_TICK, MAX_RECENT } from './live-aggregator.js';

const clock = { nowMs: () => 0, wallMs: () => Date.parse('2026-12-05T10:00:00Z') };

function finished(over: Partial<RequestFinishedEvent> = {}): RequestFinishedEvent {
  return {
    requestId: 'r',
    route: '/v1/chat/completions',
    operation: 'chat',
    tenant: 't',
    model: 'gpt',
    servedModel: 'gpt',
    deployment: 'd',
    attempts: 1,
    status: 200,
    outcome: 'success',
    errorCode: undefined,
    stream: true,
    durationMs: 100,
    timeToFirstTokenMs: 20,
    upstreamMs: 90,
    usage: { promptTokens: 10, completionTokens: 5, cachedTokens: 0, reasoningTokens: 0, estimated: false } as RequestFinishedEvent['usage'],
    upstream: undefined,
    costPico: 2_000_000,
    ...over,
  };
}

function attempt(over: Partial<AttemptEvent> = {}): AttemptEvent {
  return { requestId: 'r', alias: 'gpt', deployment: 'd', genAiProvider: 'openai', upstreamModel: 'm', responseModel: 'm', serverAddress: 'h', serverPort: 1, operation: 'chat', attempt: 1, outcome: 'success', status: 200, durationMs: 80, ...over };
}

describe('LiveAggregator', () => {
  it('sums a second into one tick and starts the next one empty', () => {
    const a = new LiveAggregator({ clock });
    a.requestFinished(finished());
    a.requestFinished(finished({ outcome: 'rate_limited', status: 429, usage: undefined, costPico: undefined, timeToFirstTokenMs: undefined }));
    a.requestFinished(finished({ operation: undefined, route: '/health' }));
    a.attemptFinished(attempt());
    a.attemptFinished(attempt({ outcome: 'server_error', status: 500 }));
    const tick = a.tick(1_000);
    expect(tick).toMatchObject({ t: 1_000, requests: 2, outcomes: { success: 1, rate_limited: 1 }, tokens: { input: 10, output: 5 }, costUsd: 0.000002 });
    expect(tick.latencyMs).toEqual({ p50: expect.any(Number), p95: expect.any(Number) });
    expect(tick.models.gpt).toMatchObject({ requests: 2, errors: 1, tokens: { input: 10, output: 5 } });
    expect(tick.deployments.d).toMatchObject({ attempts: 2, errors: 1, inFlight: 0 });
    expect(a.tick(2_000)).toEqual({ t: 2_000, requests: 0, outcomes: {}, latencyMs: null, ttftMs: null, tokens: { input: 0, output: 0 }, costUsd: 0, models: {}, deployments: {} });
  });

  it('names at most 50 models a tick (the rest under "other") and keeps 300 ticks', () => {
    const a = new LiveAggregator({ clock });
    for (let i = 0; i < 60; i++) for (let j = 0; j <= i; j++) a.requestFinished(finished({ model: `m${i}` }));
    const tick = a.tick(1_000);
    expect(Object.keys(tick.models)).toHaveLength(MAX_NAMED_PER_TICK + 1);
    expect(tick.models.m59?.requests).toBe(60);
    expect(tick.models.m0).toBeUndefined();
    expect(tick.models.other?.requests).toBe(55);
    for (let i = 0; i < HISTORY_TICKS + 10; i++) a.tick(2_000 + i * 1_000);
    expect(a.history()).toHaveLength(HISTORY_TICKS);
  });

  it('keeps the last 20 transitions and failures of a deployment, and forgets a deployment a reload removed', () => {
    const a = new LiveAggregator({ clock });
    for (let i = 0; i < 30; i++) {
      a.attemptFinished(attempt({ outcome: 'timeout', status: undefined, requestId: `r${i}` }));
      a.breakerTransition({ deployment: 'd', from: 'closed', to: 'open', reason: 'failures' });
    }
    const past = a.deployment('d');
    expect(past.recentFailures).toHaveLength(MAX_RECENT);
    expect(past.recentFailures.at(-1)).toEqual({ at: '2026-12-05T10:00:00.000Z', outcome: 'timeout', status: null, requestId: 'r29' });
    expect(past.transitions).toHaveLength(MAX_RECENT);
    expect(past.latencyMs).not.toBeNull();
    a.configReloaded({ result: 'success', initial: false, version: 2, atMs: 0, added: [], removed: ['d'], rebuilt: [], issues: [], restartRequired: [] });
    expect(a.deployment('d')).toEqual({ transitions: [], recentFailures: [], latencyMs: null });
  });

  it('sends each tick to its listeners until they unsubscribe', () => {
    const a = new LiveAggregator({ clock });
    const seen: number[] = [];
    const off = a.onTick((t) => seen.push(t.t));
    a.tick(1_000);
    off();
    a.tick(2_000);
    expect(seen).toEqual([1_000]);
  });
});
