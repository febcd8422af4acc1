import type { Balancer, BalancerCandidate } from '../balancer.js';
import { RoundRobinBalancer } from './round-robin.js';

/**
 * Prefers the candidate with the lowest moving-average latency. Unmeasured candidates go
 * first, or a deployment that was never tried would never be measured and never chosen; ties
 * rotate, so identical deployments share load rather than one taking all of it.
 */
export class LeastLatencyBalancer implements Balancer {
  // One cursor for both exploration and ties keeps each group rotating by target index.
  readonly #rotation = new RoundRobinBalancer();

  /** An unmeasured candidate if any (rotating), else the fastest (rotating on ties). */
  pick<T extends BalancerCandidate>(candidates: readonly T[]): T | undefined {
    const measured: { candidate: T; latencyMs: number }[] = [];
    const unmeasured: T[] = [];
    for (const candidate of candidates) {
      const latencyMs = candidate.latencyMs();
      // NaN cannot be compared, so it is treated as "no usable sample yet".
      if (latencyMs === undefined || Number.isNaN(latencyMs)) unmeasured.push(candidate);
      else measured.push({ candidate, latencyMs });
    }
    if (unmeasured.length > 0) return this.#rotation.pick(unmeasured);
    const bestMs = Math.min(...measured.map((m) => m.latencyMs));
    const fastest = measured.filter((m) => m.latencyMs === bestMs).map((m) => m.candidate);
    return this.#rotation.pick(fastest);
  }
}
