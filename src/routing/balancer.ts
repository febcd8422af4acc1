import type { Clock } from '../clock.js';
import type { GatewayEvents } from '../observability/events.js';
import type { Price } from '../spend/price.js';
import type { DeploymentLoad } from './deployment-load.js';
import type { RouteRequest } from './route-request.js';
import type { TargetStats } from './target-stats.js';

/** The load-balancing contract: each strategy picks one of the candidates it is offered. */

export type Strategy = 'round_robin' | 'weighted' | 'least_latency' | 'priority' | 'cost' | 'least_loaded' | 'prefix_affinity' | 'predicted_latency';

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

/** A candidate with its live signals: what the latency- and load-aware strategies read. */
export interface LoadCandidate extends BalancerCandidate {
  /** The target's latency history (TTFT, TPOT, errors). */
  readonly stats: TargetStats;
  /** Its deployment's load (shared by every alias routing there). */
  readonly load: DeploymentLoad;
  /** The deployment's name (stable across aliases; for hashing and metrics). */
  readonly deploymentName: string;
}

/** What the load- and latency-aware balancers need besides their candidates. */
export interface BalancerContext {
  readonly clock: Clock;
  readonly events: GatewayEvents;
  /** The alias the balancer serves (metric labels). */
  readonly alias: string;
  /** `models.<a>.onSloMiss` (predicted_latency). */
  readonly onSloMiss: 'least_bad' | 'shed';
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
   * calls (round-robin cursor) but never mutates the candidates. A strategy may throw a
   * GatewayError to refuse the request (predicted_latency shedding an unattainable SLO).
   */
  pick<T extends LoadCandidate>(candidates: readonly T[], request?: RouteRequest): T | undefined;
}
