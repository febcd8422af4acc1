import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../clock.js';
import { loadCandidate, observeTtft, type TestCandidate } from '../../testing/load-candidate.js';
import { seededRandom } from '../../testing/seeded-random.js';
import { EXPLORATION_RATE, LeastLatencyBalancer, STALE_AFTER_MS } from './least-latency.js';

/** Never below ε: no exploration, so a test sees the plain choice. */
const noExploring = (): number => 0.5;

function measured(index: number, ttftMs: number | undefined, atMs = 0): TestCandidate {
  const c = loadCandidate(index);
  return ttftMs === undefined ? c : observeTtft(c, ttftMs, atMs);
}

function picks(balancer: LeastLatencyBalancer, candidates: readonly TestCandidate[], n: number) {
  return Array.from({ length: n }, () => balancer.pick(candidates)?.index);
}

describe('LeastLatencyBalancer', () => {
  it('picks the candidate with the lowest TTFT', () => {
    const candidates = [measured(0, 300), measured(1, 120), measured(2, 450)];
    expect(picks(new LeastLatencyBalancer(noExploring, new ManualClock()), candidates, 5)).toEqual([1, 1, 1, 1, 1]);
  });

  it('probes each unmeasured candidate once, then waits for its answer instead of sending it more', () => {
    const clock = new ManualClock();
    const candidates = [measured(0, 100), measured(1, undefined), measured(2, 50), measured(3, undefined)];
    const balancer = new LeastLatencyBalancer(noExploring, clock);
    // 1 and 3 are probed in turn; while their probes are out, the fastest measured serves.
    expect(picks(balancer, candidates, 4)).toEqual([1, 3, 2, 2]);
    observeTtft(candidates[1]!, 400, 10);
    observeTtft(candidates[3]!, 30, 10);
    expect(picks(balancer, candidates, 2)).toEqual([3, 3]);
  });

  it('with nothing measured, probes each once and then rotates among them', () => {
    const balancer = new LeastLatencyBalancer(noExploring, new ManualClock());
    const candidates = [measured(0, undefined), measured(1, undefined)];
    expect(picks(balancer, candidates, 5)).toEqual([0, 1, 0, 1, 0]);
  });

  it('re-measures a deployment whose last sample is older than the staleness window (recovery)', () => {
    const clock = new ManualClock();
    const slow = measured(0, 5_000);
    const fast = measured(1, 100);
    const balancer = new LeastLatencyBalancer(noExploring, clock);
    expect(balancer.pick([slow, fast])).toBe(fast);
    // Traffic keeps fast's samples fresh; slow has had none for a while.
    clock.advance(STALE_AFTER_MS - 1);
    observeTtft(fast, 100, clock.nowMs());
    expect(balancer.pick([slow, fast])).toBe(fast);
    clock.advance(2);
    expect(balancer.pick([slow, fast])).toBe(slow);
    // One probe per window: until it answers, the old sample ranks it.
    expect(picks(balancer, [slow, fast], 3)).toEqual([1, 1, 1]);
    // It recovered: its new sample pulls its average down and it wins again.
    for (let i = 0; i < 60; i++) observeTtft(slow, 20, clock.nowMs() + i * 1_000);
    clock.advance(60_000);
    observeTtft(fast, 100, clock.nowMs());
    expect(balancer.pick([slow, fast])).toBe(slow);
  });

  it('explores a non-best candidate about ε of the time, uniformly, from the injected random', () => {
    const balancer = new LeastLatencyBalancer(seededRandom(7), new ManualClock());
    const candidates = [measured(0, 100), measured(1, 200), measured(2, 300), measured(3, 900)];
    const counts = [0, 0, 0, 0];
    const n = 20_000;
    for (let i = 0; i < n; i++) counts[balancer.pick(candidates)!.index]!++;
    expect(counts[0]! / n).toBeCloseTo(1 - EXPLORATION_RATE, 2);
    for (const k of [1, 2, 3]) expect(counts[k]! / n).toBeCloseTo(EXPLORATION_RATE / 3, 2);
  });

  it('rotates among equally fast candidates so they share load', () => {
    const candidates = [measured(0, 80), measured(1, 200), measured(2, 80), measured(3, 80)];
    expect(picks(new LeastLatencyBalancer(noExploring, new ManualClock()), candidates, 7)).toEqual([0, 2, 3, 0, 2, 3, 0]);
  });

  it('follows the decayed TTFT as it changes', () => {
    const clock = new ManualClock();
    const slow = measured(0, 100);
    const fast = measured(1, 50);
    const balancer = new LeastLatencyBalancer(noExploring, clock);
    expect(balancer.pick([slow, fast])).toBe(fast);
    clock.advance(20_000);
    observeTtft(fast, 500, clock.nowMs());
    observeTtft(slow, 100, clock.nowMs());
    expect(balancer.pick([slow, fast])).toBe(slow);
  });

  it('handles one candidate, none, and an infinite TTFT without drawing', () => {
    let draws = 0;
    const balancer = new LeastLatencyBalancer(() => {
      draws++;
      return 0;
    }, new ManualClock());
    expect(balancer.pick([measured(0, Infinity)])?.index).toBe(0);
    expect(balancer.pick([])).toBeUndefined();
    expect(draws).toBe(0);
  });
});
