/**
 * Attack on the names in a live tick: more than 50 busy aliases (or deployments) are summed
 * under "other", but "other" is also a valid alias and deployment name in the config. The
 * overflow sum was written over the configured "other"'s numbers, so its requests (the busiest
 * alias here) vanished from the tick: the models no longer added up to the tick's requests.
 */
import { describe, expect, it } from 'vitest';
import { LiveAggregator, MAX_NAMED_PER_TICK } from '../../src/observability/live/live-aggregator.js';
import type { AttemptEvent, RequestFinishedEvent } from '../../src/observability/events.js';

const clock = { nowMs: () => performance.now(), wallMs: () => Date.now() };

function request(a: LiveAggregator, model: string): void {
  a.requestFinished({ requestId: 'r', route: '/v1/chat/completions', operation: 'chat', model, outcome: 'success', durationMs: 10, usage: { promptTokens: 1, completionTokens: 2 }, costPico: 1_000_000 } as unknown as RequestFinishedEvent);
}

function attempt(a: LiveAggregator, deployment: string): void {
  a.attemptFinished({ requestId: 'r', deployment, outcome: 'success', durationMs: 10 } as unknown as AttemptEvent);
}

describe('a configured alias or deployment named "other"', () => {
  it('keeps its requests in the tick when more than 50 names are busy', () => {
    const a = new LiveAggregator({ clock });
    for (let i = 0; i < 100; i++) request(a, 'other');
    for (let m = 0; m <= MAX_NAMED_PER_TICK; m++) request(a, `alias-${m}`);
    const tick = a.tick(1_000);
    expect(tick.requests).toBe(100 + MAX_NAMED_PER_TICK + 1);
    const models = Object.values(tick.models);
    expect(models.reduce((n, m) => n + m.requests, 0)).toBe(tick.requests);
    expect(models.reduce((n, m) => n + m.tokens.output, 0)).toBe(tick.tokens.output);
    expect(Object.keys(tick.models).length).toBeLessThanOrEqual(MAX_NAMED_PER_TICK + 1);
  });

  it('keeps its attempts in the tick when more than 50 deployments are busy', () => {
    const a = new LiveAggregator({ clock });
    for (let i = 0; i < 100; i++) attempt(a, 'other');
    for (let d = 0; d <= MAX_NAMED_PER_TICK; d++) attempt(a, `deployment-${d}`);
    const tick = a.tick(1_000);
    const deployments = Object.values(tick.deployments);
    expect(deployments.reduce((n, d) => n + d.attempts, 0)).toBe(100 + MAX_NAMED_PER_TICK + 1);
    expect(Object.keys(tick.deployments).length).toBeLessThanOrEqual(MAX_NAMED_PER_TICK + 1);
  });

  it('is shown under its name when 50 names or fewer are busy', () => {
    const a = new LiveAggregator({ clock });
    for (let i = 0; i < 3; i++) request(a, 'other');
    request(a, 'gpt-mini');
    const tick = a.tick(1_000);
    expect(tick.models.other?.requests).toBe(3);
    expect(tick.models['gpt-mini']?.requests).toBe(1);
  });
});
