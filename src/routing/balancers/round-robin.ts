import type { Balancer, BalancerCandidate } from '../balancer.js';

/**
 * Rotates through targets by their stable index. The cursor is a target index, not a position
 * in the candidate list, so when some targets are filtered out (open breaker, cooldown) the
 * rest keep taking turns in order instead of one of them absorbing the skipped share.
 */
export class RoundRobinBalancer implements Balancer {
  #cursor = 0;

  /** The candidate with the lowest index ≥ the cursor (wrapping), or undefined if none. */
  pick<T extends BalancerCandidate>(candidates: readonly T[]): T | undefined {
    let atOrAfter: T | undefined;
    let lowest: T | undefined;
    for (const candidate of candidates) {
      if (lowest === undefined || candidate.index < lowest.index) lowest = candidate;
      if (
        candidate.index >= this.#cursor &&
        (atOrAfter === undefined || candidate.index < atOrAfter.index)
      ) {
        atOrAfter = candidate;
      }
    }
    const picked = atOrAfter ?? lowest;
    if (picked !== undefined) this.#cursor = picked.index + 1;
    return picked;
  }
}
