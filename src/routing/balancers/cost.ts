import { systemClock, type Clock } from '../../clock.js';
import type { Balancer, LoadCandidate, RequestSize } from '../balancer.js';
import { LeastLatencyBalancer } from './least-latency.js';

/**
 * The cheapest candidate for this request: its prompt estimate at the input price plus its
 * output reserve at the output price (what the request would cost if it used its reserve), in
 * exact picodollars. Ties (equal prices, e.g. one model on two deployments) go to the lowest
 * time to first token as `least_latency` chooses (stale or unmeasured first, some exploration).
 *
 * A candidate that cannot hold the request (prompt + output reserve above its known context
 * window) or has no known price is only chosen when nothing else is offered: a target whose cost
 * is unknown is never assumed cheap. Unavailable targets (open breaker, cooldown) never reach a
 * balancer, so "healthy" is the executor's part; a retry is offered the rest, cheapest first.
 */
export class CostBalancer implements Balancer {
  readonly #ties: LeastLatencyBalancer;

  /** `random` and `clock` feed the tie-break (least_latency's probes and exploration). */
  constructor(random: () => number = Math.random, clock: Clock = systemClock) {
    this.#ties = new LeastLatencyBalancer(random, clock);
  }

  pick<T extends LoadCandidate>(candidates: readonly T[], size?: RequestSize): T | undefined {
    if (candidates.length <= 1) return candidates[0];
    const tokens = size ? size.promptTokens + size.outputTokens : 0;
    let best: T[] = [];
    let bestRank = Infinity;
    let bestCost = Infinity;
    for (const c of candidates) {
      const fits = c.contextWindow === undefined || tokens <= c.contextWindow;
      const priced = c.price !== undefined;
      // Rank 0: fits and priced; 1: priced, too small; 2: unpriced and fits; 3: neither.
      const rank = (fits ? 0 : 1) + (priced ? 0 : 2);
      const cost = c.price && size ? size.promptTokens * c.price.input + size.outputTokens * c.price.output : 0;
      if (rank < bestRank || (rank === bestRank && cost < bestCost)) {
        best = [c];
        bestRank = rank;
        bestCost = cost;
      } else if (rank === bestRank && cost === bestCost) {
        best.push(c);
      }
    }
    return best.length === 1 ? best[0] : this.#ties.pick(best);
  }
}
