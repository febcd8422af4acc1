/** The load-balancing contract: each strategy picks one of the candidates it is offered. */

export type Strategy = 'round_robin' | 'weighted' | 'least_latency' | 'priority';

export interface BalancerCandidate {
  /** Stable position of the target within its model alias (0-based). */
  readonly index: number;
  /** Relative share for `weighted` (> 0). */
  readonly weight: number;
  /** Lower is preferred for `priority`. */
  readonly priority: number;
  /** Moving-average latency of recent successful attempts in ms, undefined if none yet. */
  latencyMs(): number | undefined;
}

export interface Balancer {
  /**
   * Picks one candidate, or undefined when the list is empty. The caller has already removed
   * targets that are unavailable (open breaker, cooldown); a balancer may keep state between
   * calls (round-robin cursor) but never mutates the candidates.
   */
  pick<T extends BalancerCandidate>(candidates: readonly T[]): T | undefined;
}
