import type { Balancer, BalancerCandidate } from '../balancer.js';
import { WeightedBalancer } from './weighted.js';

/**
 * Sends everything to the best (lowest) priority level still available; lower levels are
 * standby capacity that takes over when the caller filters the preferred targets out.
 */
export class PriorityBalancer implements Balancer {
  readonly #weighted: WeightedBalancer;

  /** `random` returns values in [0, 1); it breaks ties within a level by weight. */
  constructor(random: () => number = Math.random) {
    this.#weighted = new WeightedBalancer(random);
  }

  /**
   * A candidate from the lowest priority value present, chosen by weight among equals, or
   * undefined if none. NaN priorities rank last.
   */
  pick<T extends BalancerCandidate>(candidates: readonly T[]): T | undefined {
    // `<` rather than Math.min, which would let one NaN poison the minimum.
    let best = Infinity;
    for (const candidate of candidates) if (candidate.priority < best) best = candidate.priority;
    const top = candidates.filter((c) => c.priority === best);
    // Empty only when every priority is NaN: then no level is better than another.
    return this.#weighted.pick(top.length > 0 ? top : candidates);
  }
}
