/**
 * The live ticks when the wall clock steps (NTP, a VM resumed), through the aggregator's own
 * timer: a step back made the next ticks repeat seconds the history already held (two ticks for
 * one `t`, out of order), which a console opening then charts as a zigzag. A step forward leaves
 * a gap and nothing else. Idle seconds still tick, with zeros and no percentiles.
 */
import { describe, expect, it } from 'vitest';
import { LiveAggregator } from '../../src/observability/live/live-aggregator.js';

describe('live ticks across wall-clock steps', () => {
  it('keep the history in strictly increasing t, one tick per second, when the clock steps back', async () => {
    let skew = 0;
    const a = new LiveAggregator({ clock: { nowMs: () => performance.now(), wallMs: () => Date.now() + skew } });
    a.start();
    try {
      const seen: number[] = [];
      const ticks = (n: number): Promise<void> =>
        new Promise((resolve) => {
          const off = a.onTick((tick) => {
            seen.push(tick.t);
            if (--n === 0) {
              off();
              resolve();
            }
          });
        });
      await ticks(3);
      skew = -2_500;
      await ticks(3);
      const history = a.history().map((t) => t.t);
      for (let i = 1; i < history.length; i++) expect(history[i]!, `history ${history.join(',')}`).toBeGreaterThan(history[i - 1]!);
      for (const t of history) expect(t % 1000).toBe(0);
      // Idle seconds tick with zeros.
      expect(a.history().at(-1)).toMatchObject({ requests: 0, outcomes: {}, latencyMs: null, ttftMs: null, models: {}, deployments: {}, costUsd: 0 });
      // The ticks sent follow the clock: the step back shows as one step back, not a stall.
      expect(seen.length).toBe(6);
    } finally {
      a.stop();
    }
  }, 20_000);
});

describe("a deployment's five-minute latency across a wall-clock step back", () => {
  it('leaves out the minutes that are, by the clock now, in the future', () => {
    let wall = Date.UTC(2026, 11, 5, 12, 0, 30);
    const a = new LiveAggregator({ clock: { nowMs: () => performance.now(), wallMs: () => wall } });
    const attempt = (durationMs: number): void => a.attemptFinished({ requestId: 'r', deployment: 'd', outcome: 'success', durationMs } as never);
    for (let i = 0; i < 10; i++) attempt(5_000);
    // The clock steps back 7 minutes (a slot of its own in the five-minute ring).
    wall -= 7 * 60_000;
    for (let i = 0; i < 10; i++) attempt(10);
    const p = a.deployment('d').latencyMs!;
    expect(p.p95, 'the 5 s attempts of "the future" still counted').toBeLessThan(100);
  });
});
