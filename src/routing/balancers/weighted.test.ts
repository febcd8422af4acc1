import { describe, it, expect } from 'vitest';
import type { BalancerCandidate } from '../balancer.js';
import { WeightedBalancer } from './weighted.js';
import { seededRandom } from '../../testing/seeded-random.js';

function withWeights(...weights: number[]): readonly BalancerCandidate[] {
  return Object.freeze(
    weights.map((weight, index) => ({ index, weight, priority: 0, latencyMs: () => undefined })),
  );
}

function counts(balancer: WeightedBalancer, candidates: readonly BalancerCandidate[], n: number) {
  const tally = candidates.map(() => 0);
  for (let i = 0; i < n; i++) {
    const picked = balancer.pick(candidates);
    if (picked === undefined) throw new Error('no pick');
    tally[picked.index] = (tally[picked.index] ?? 0) + 1;
  }
  return tally;
}

describe('WeightedBalancer', () => {
  it('splits 3:1 weights within tolerance over 20k seeded draws', () => {
    for (const seed of [1, 2, 3]) {
      const balancer = new WeightedBalancer(seededRandom(seed));
      const [heavy = 0, light = 0] = counts(balancer, withWeights(3, 1), 20_000);
      // σ ≈ 61 picks; ±300 is about 5σ.
      expect(Math.abs(heavy - 15_000)).toBeLessThan(300);
      expect(heavy + light).toBe(20_000);
    }
  });

  it('maps random() onto cumulative weights', () => {
    const candidates = withWeights(3, 1);
    const pickAt = (r: number) => new WeightedBalancer(() => r).pick(candidates)?.index;
    expect([0, 0.5, 0.749, 0.75, 0.99, 1].map(pickAt)).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it('never picks a zero, negative or NaN weight while a positive one exists', () => {
    const candidates = withWeights(0, 2, -1, Number.NaN, 2);
    const tally = counts(new WeightedBalancer(seededRandom(5)), candidates, 5_000);
    expect([tally[0], tally[2], tally[3]]).toEqual([0, 0, 0]);
    expect(Math.abs((tally[1] ?? 0) - 2_500)).toBeLessThan(250);
  });

  it('chooses uniformly when no weight is usable', () => {
    const candidates = withWeights(0, 0, 0, 0);
    const tally = counts(new WeightedBalancer(seededRandom(8)), candidates, 8_000);
    for (const count of tally) expect(Math.abs(count - 2_000)).toBeLessThan(250);
  });

  it('survives a random() outside [0, 1)', () => {
    const candidates = withWeights(1, 1);
    expect(new WeightedBalancer(() => Number.NaN).pick(candidates)?.index).toBe(0);
    expect(new WeightedBalancer(() => 5).pick(candidates)?.index).toBe(1);
    expect(new WeightedBalancer(() => -1).pick(candidates)?.index).toBe(0);
  });

  it('returns undefined for no candidates', () => {
    expect(new WeightedBalancer().pick([])).toBeUndefined();
  });
});
