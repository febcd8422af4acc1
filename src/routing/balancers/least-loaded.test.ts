import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../clock.js';
import { loadCandidate, observeTtft, type TestCandidate } from '../../testing/load-candidate.js';
import { seededRandom } from '../../testing/seeded-random.js';
import { LeastLoadedBalancer, loadScore, neutralPeakMs } from './least-loaded.js';

function busy(index: number, inFlight: number, ttftMs?: number): TestCandidate {
  const c = loadCandidate(index);
  for (let i = 0; i < inFlight; i++) c.load.begin(100);
  return ttftMs === undefined ? c : observeTtft(c, ttftMs, 0);
}

function shares(balancer: LeastLoadedBalancer, candidates: readonly TestCandidate[], n: number): number[] {
  const counts = candidates.map(() => 0);
  for (let i = 0; i < n; i++) counts[candidates.indexOf(balancer.pick(candidates)!)]!++;
  return counts.map((k) => k / n);
}

/** A random that replays `values` in turn (to choose the two candidates drawn). */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('LeastLoadedBalancer', () => {
  it('of the two drawn, takes the one with the lower peak × (in flight + 1)', () => {
    const clock = new ManualClock();
    // Draws 0 and 1 (the third, idle and fastest, is not drawn): 100 ms × 4 = 400 against 300 ms × 1 = 300.
    const loaded = busy(0, 3, 100);
    const slowIdle = busy(1, 0, 300);
    const third = busy(2, 0, 1);
    expect(new LeastLoadedBalancer(draws(0, 0), clock).pick([loaded, slowIdle, third])).toBe(slowIdle);
    loaded.load.end(100);
    loaded.load.end(100);
    // 100 × 2 = 200 < 300 now.
    expect(new LeastLoadedBalancer(draws(0, 0), clock).pick([loaded, slowIdle, third])).toBe(loaded);
  });

  it("counts the server's own queue from a fresh scrape, and ignores a stale one", () => {
    const clock = new ManualClock(10_000);
    const a = busy(0, 0, 100);
    const b = busy(1, 1, 100);
    a.load.staleAfterMs = 5_000;
    a.load.scraped = { atMs: 9_000, waiting: 4 };
    const balancer = new LeastLoadedBalancer(draws(0, 0), clock);
    expect(loadScore(a, clock.nowMs(), 1)).toBeCloseTo(500);
    expect(balancer.pick([a, b])).toBe(b);
    clock.advance(6_000);
    expect(loadScore(a, clock.nowMs(), 1)).toBeCloseTo(100);
    expect(balancer.pick([a, b])).toBe(a);
  });

  it('reacts to a slow sample at once (peak-EWMA) and forgets it with time', () => {
    const clock = new ManualClock();
    const a = busy(0, 0, 100);
    const b = busy(1, 0, 200);
    const balancer = new LeastLoadedBalancer(draws(0, 0), clock);
    expect(balancer.pick([a, b])).toBe(a);
    observeTtft(a, 2_000, 0);
    expect(balancer.pick([a, b])).toBe(b);
    clock.advance(60_000);
    observeTtft(b, 200, clock.nowMs());
    for (let t = 1_000; t <= 60_000; t += 1_000) observeTtft(a, 100, t);
    expect(balancer.pick([a, b])).toBe(a);
  });

  it('scores an unmeasured candidate at the mean measured peak, so in flight decides', () => {
    const clock = new ManualClock();
    const fast = busy(0, 2, 100);
    const slow = busy(1, 0, 300);
    const fresh = busy(2, 1);
    expect(neutralPeakMs([fast, slow, fresh], 0)).toBe(200);
    // Draws fresh and fast: fresh 200 × 2 = 400 against fast 100 × 3 = 300.
    const balancer = new LeastLoadedBalancer(draws(0.99, 0), clock);
    expect(balancer.pick([fast, slow, fresh])).toBe(fast);
    fast.load.begin(100);
    fast.load.begin(100);
    // fast: 100 × 5 = 500 > fresh: 200 × 2 = 400.
    expect(balancer.pick([fast, slow, fresh])).toBe(fresh);
  });

  it('with nothing measured balances by in-flight count; NaN and infinite samples count as unmeasured', () => {
    const clock = new ManualClock();
    const idle = busy(0, 0);
    const loaded = busy(1, 2);
    expect(new LeastLoadedBalancer(draws(0.99, 0), clock).pick([idle, loaded])).toBe(idle);
    const nan = busy(0, 3, Number.NaN);
    const inf = busy(1, 0, Infinity);
    expect(neutralPeakMs([nan, inf], 0)).toBe(1);
    expect(new LeastLoadedBalancer(draws(0, 0), clock).pick([nan, inf])).toBe(inf);
  });

  it('returns the only candidate, or undefined for none, without drawing', () => {
    let n = 0;
    const balancer = new LeastLoadedBalancer(() => {
      n++;
      return 0;
    }, new ManualClock());
    const only = busy(0, 9, 100);
    expect(balancer.pick([only])).toBe(only);
    expect(balancer.pick([])).toBeUndefined();
    expect(n).toBe(0);
  });

  it('always draws two distinct candidates, so even equal ones split evenly and none herds', () => {
    const candidates = [busy(0, 0, 100), busy(1, 0, 100)];
    const s = shares(new LeastLoadedBalancer(seededRandom(1), new ManualClock()), candidates, 10_000);
    expect(s[0]).toBeCloseTo(0.5, 1);
  });

  it('over many picks sends most traffic to the less loaded, yet never all of it to the best', () => {
    // Four equally fast deployments, in flight 0, 2, 4, 8: P2C gives the i-th least loaded of n
    // a share of 2(n − i)/(n(n − 1)), i from 1: 1/2, 1/3, 1/6, 0.
    const candidates = [busy(0, 0, 100), busy(1, 2, 100), busy(2, 4, 100), busy(3, 8, 100)];
    const s = shares(new LeastLoadedBalancer(seededRandom(42), new ManualClock()), candidates, 30_000);
    expect(s[0]).toBeCloseTo(1 / 2, 1);
    expect(s[1]).toBeCloseTo(1 / 3, 1);
    expect(s[2]).toBeCloseTo(1 / 6, 1);
    expect(s[3]).toBe(0);
  });

  it('under a burst with in-flight counts rising, spreads load evenly rather than herding', () => {
    // 64 requests start and none ends: P2C keeps every deployment within a few requests of the
    // others (its gap grows as log log n), where one random draw per request would not.
    const candidates = Array.from({ length: 8 }, (_, i) => busy(i, 0, 100 + i));
    const balancer = new LeastLoadedBalancer(seededRandom(3), new ManualClock());
    for (let i = 0; i < 64; i++) balancer.pick(candidates)!.load.begin(100);
    const loads = candidates.map((c) => c.load.inFlight);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(3);
  });
});
