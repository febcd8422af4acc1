import type { Price } from '../spend/price.js';

/** The load-balancing contract: each strategy picks one of the candidates it is offered. */

export type Strategy = 'round_robin' | 'weighted' | 'least_latency' | 'priority' | 'cost';

export interface BalancerCandidate {
  /** Stable position of the target within its model alias (0-based). */
  readonly index: number;
  /** Relative share for `weighted` (> 0). */
  readonly weight: number;
  /** Lower is preferred for `priority`. */
  readonly priority: number;
  /** Moving-average latency of recent successful attempts in ms, undefined if none yet. */
  latencyMs(): number | undefined;
  /** For `cost`: what the target charges (undefined: unknown). */
  readonly price?: Price | undefined;
  /** For `cost`: the most tokens (prompt and output) one request may have, when known. */
  readonly contextWindow?: number | undefined;
}

/** The size of the request being routed, for strategies that price it (`cost`). */
export interface RequestSize {
  readonly promptTokens: number;
  /** The output reserve: max_tokens × n, or the alias's default reserve. */
  readonly outputTokens: number;
}

export interface Balancer {
  /**
   * Picks one candidate, or undefined when the list is empty. The caller has already removed
   * targets that are unavailable (open breaker, cooldown); a balancer may keep state between
   * calls (round-robin cursor) but never mutates the candidates.
   */
  pick<T extends BalancerCandidate>(candidates: readonly T[], size?: RequestSize): T | undefined;
}
