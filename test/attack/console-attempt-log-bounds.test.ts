/**
 * The attempt log of a request with many retries and fallbacks (10 attempts per alias and a
 * fallback chain can reach 20+): at most 16 entries, in order, each saying what came next, and
 * small (a request log row must stay a few KB).
 */
import { describe, expect, it } from 'vitest';
import { RequestRecord } from '../../src/pipeline/request-record.js';
import { MAX_ATTEMPT_LOG } from '../../src/observability/events.js';

describe('a request with 25 attempts', () => {
  it('logs the first 16, numbered, each failed one saying retry or fallback, in under 4 KB', () => {
    let now = 0;
    const r = new RequestRecord('id', '/v1/chat/completions', 'chat', 0, { nowMs: () => now, wallMs: () => now });
    for (let n = 1; n <= 25; n++) {
      const alias = n <= 10 ? 'a-very-long-configured-alias-name-for-the-first-model' : n <= 20 ? 'fallback-alias' : 'last-alias';
      r.logAttempt(n, alias, `deployment-${n}-with-a-long-configured-name`, now, 1234.567, n === 25 ? 'success' : 'server_error', n === 25 ? 200 : 503, null);
      now += 1500;
    }
    const log = r.toEvent().attemptLog!;
    expect(log).toHaveLength(MAX_ATTEMPT_LOG);
    expect(log.map((e) => e.n)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(log[9]).toMatchObject({ next: 'fallback', reason: 'server_error', status: 503, durationMs: 1235 });
    expect(log[8]!.next).toBe('retry');
    // The 16th failed and was followed by attempt 17 (a retry on its alias): it says so.
    expect(log[15]!.next).toBe('retry');
    expect(JSON.stringify(log).length).toBeLessThan(4_096);
  });
});
