import type { Balancer, BalancerCandidate } from '../balancer.js';

/**
 * Random choice in proportion to weight. Stateless, so replicas need no coordination and the
 * split converges to the weights over many requests.
 */
export class WeightedBalancer implements Balancer {
  readonly #random: () => number;

  /** `random` returns values in [0, 1) (out-of-range values are clamped). */
  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /**
   * A candidate chosen with probability weight / total weight, or undefined if none. Weights
   * that are not finite and > 0 count as 0; if no weight is usable the choice is uniform.
   */
  pick<T extends BalancerCandidate>(candidates: readonly T[]): T | undefined {
    if (candidates.length === 0) return undefined;
    const total = candidates.reduce((sum, c) => sum + usableWeight(c.weight), 0);
    const draw = clampUnit(this.#random());
    if (!(total > 0)) {
      return candidates[Math.min(candidates.length - 1, Math.floor(draw * candidates.length))];
    }
    let remaining = draw * total;
    let lastUsable: T | undefined;
    for (const candidate of candidates) {
      const weight = usableWeight(candidate.weight);
      if (weight === 0) continue;
      if (remaining < weight) return candidate;
      remaining -= weight;
      lastUsable = candidate;
    }
    // Only reached when rounding (or random() = 1) leaves a sliver past the last weight.
    return lastUsable;
  }
}

function usableWeight(weight: number): number {
  return Number.isFinite(weight) && weight > 0 ? weight : 0;
}

function clampUnit(value: number): number {
  if (!(value > 0)) return 0; // also catches NaN
  return value > 1 ? 1 : value;
}
