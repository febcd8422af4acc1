import { describe, expect, it } from 'vitest';
import { MAX_ATTEMPT_LOG } from '../observability/events.js';
import { ManualClock } from '../clock.js';
import { RequestRecord } from './request-record.js';

const clock = { nowMs: () => 1_000, wallMs: () => 0 };

describe('RequestRecord attempt log', () => {
  it('says after each failed attempt whether a retry or a fallback followed, and why it failed', () => {
    const r = new RequestRecord('id', '/v1/chat/completions', 'chat', 100, clock);
    r.logAttempt(1, 'a', 'd1', 110, 20.4, 'rate_limited', 429, null);
    r.logAttempt(2, 'a', 'd2', 140, 5, 'timeout', null, null);
    r.logAttempt(3, 'b', 'd3', 150, 30, 'success', 200, 12.6);
    expect(r.toEvent().attemptLog).toEqual([
      { n: 1, alias: 'a', deployment: 'd1', startMs: 10, durationMs: 20, outcome: 'rate_limited', status: 429, ttftMs: null, next: 'retry', reason: 'rate_limited' },
      { n: 2, alias: 'a', deployment: 'd2', startMs: 40, durationMs: 5, outcome: 'timeout', status: null, ttftMs: null, next: 'fallback', reason: 'timeout' },
      { n: 3, alias: 'b', deployment: 'd3', startMs: 50, durationMs: 30, outcome: 'success', status: 200, ttftMs: 13, next: null, reason: null },
    ]);
  });

  it(`keeps at most ${MAX_ATTEMPT_LOG} attempts; none logged means no log`, () => {
    const r = new RequestRecord('id', '/v1/chat/completions', 'chat', 0, clock);
    expect(r.toEvent().attemptLog).toBeUndefined();
    for (let n = 1; n <= 40; n++) r.logAttempt(n, 'a', 'd', n, 1, 'server_error', 500, null);
    const log = r.toEvent().attemptLog!;
    expect(log).toHaveLength(MAX_ATTEMPT_LOG);
    expect(log.at(-1)).toMatchObject({ n: MAX_ATTEMPT_LOG, next: 'retry' });
  });
});

describe('RequestRecord upstream time', () => {
  it("adds waits one after another, and a hedged pair's overlapping waits once", () => {
    const clock = new ManualClock(0);
    const r = new RequestRecord('id', '/v1/chat/completions', 'chat', 0, clock);
    clock.advance(100);
    r.addUpstreamMs(100); // a failed attempt, 0..100
    clock.advance(500);
    r.addUpstreamMs(200); // the retry's hedge, 400..600, answers first
    clock.advance(5);
    r.addUpstreamMs(505); // the retry itself, 100..605, aborted as the loser
    expect(r.upstreamMs).toBe(100 + 505);
  });
});
