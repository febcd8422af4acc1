import { systemClock, type Clock } from '../../clock.js';
import type { Balancer, LoadCandidate } from '../balancer.js';
import type { RouteRequest } from '../route-request.js';
import { LeastLoadedBalancer } from './least-loaded.js';

/**
 * Sends requests that share a prompt prefix to the same deployment, so its prefix cache (vLLM's
 * automatic prefix caching) serves the shared part instead of computing it again, with bounded
 * load so one hot prefix cannot swamp one server (consistent hashing with bounded loads,
 * Mirrokni, Thorup and Zadimoghaddam 2018).
 *
 * A candidate is eligible when taking this request keeps its in-flight count within
 * ⌈LOAD_BOUND × (in flight across the candidates + 1) / candidates⌉. Among the eligible, the
 * one that was recently sent the longest run of this prompt's leading blocks wins
 * (`load.prefixMatch`; attempts remember the blocks they send). When none of them was sent even
 * the first block, the prefix is placed by rendezvous (highest-random-weight) hashing of its
 * first block with each deployment's name: a new system prompt gets a stable home that does not
 * depend on the order of candidates, and removing a deployment moves only the prefixes it held.
 * A hot prefix that fills its home spills to its next rendezvous choice, which then holds it too.
 *
 * A request with no prefix blocks (a short prompt, embeddings) has nothing to share and is
 * balanced as `least_loaded`.
 */

/** c in the load bound: a candidate may hold at most 25 % more than its share of what is in flight. */
export const LOAD_BOUND = 1.25;

export class PrefixAffinityBalancer implements Balancer {
  readonly #noPrefix: LeastLoadedBalancer;

  constructor(random: () => number = Math.random, clock: Clock = systemClock) {
    this.#noPrefix = new LeastLoadedBalancer(random, clock);
  }

  pick<T extends LoadCandidate>(candidates: readonly T[], request?: RouteRequest): T | undefined {
    const n = candidates.length;
    if (n <= 1) return candidates[0];
    const blocks = request?.prefixBlocks() ?? [];
    if (blocks.length === 0) return this.#noPrefix.pick(candidates);
    let total = 0;
    for (const c of candidates) total += c.load.inFlight;
    const capacity = Math.ceil((LOAD_BOUND * (total + 1)) / n);
    const first = blocks[0]!;
    let best: T | undefined;
    let bestMatch = -1;
    let bestWeight = -1;
    for (const c of candidates) {
      // The least loaded candidate always fits (its load + 1 ≤ ⌊total / n⌋ + 1 = ⌈(total + 1) / n⌉ ≤
      // capacity), so one is always eligible.
      if (c.load.inFlight + 1 > capacity) continue;
      const match = c.load.prefixMatch(blocks);
      // Equal matches (0 included) go to the higher rendezvous weight: stable, order-free.
      if (match < bestMatch) continue;
      const weight = rendezvousWeight(first, c.deploymentName);
      if (match > bestMatch || weight > bestWeight) {
        best = c;
        bestMatch = match;
        bestWeight = weight;
      }
    }
    return best;
  }
}

/**
 * The rendezvous weight of `deployment` for a prefix whose first block hashes to `block`: FNV-1a
 * of the name seeded with the block, then a finalizer (murmur3's fmix32) so that names differing
 * in one character get unrelated weights. Unsigned 32 bits.
 */
export function rendezvousWeight(block: number, deployment: string): number {
  let h = (0x811c9dc5 ^ block) >>> 0;
  for (let i = 0; i < deployment.length; i++) h = Math.imul(h ^ deployment.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
