import { systemClock, type Clock } from '../../clock.js';
import type { Balancer, LoadCandidate } from '../balancer.js';

/**
 * Prefers the candidate with the lowest time to first token (`stats.ttftMs`, already decayed
 * with time). Three things keep a deployment measured slow once from being shunned for ever:
 *
 * - A candidate never measured, or whose last sample is older than STALE_AFTER_MS, is due a
 *   probe and goes first: a deployment that recovered is measured again. Each gets one probe
 *   per window from this balancer, so a stale deployment is not handed every request until its
 *   first answer returns (a herd onto what may still be the slow one).
 * - With probability EXPLORATION_RATE (drawn from the injected random) the request goes to a
 *   uniformly chosen candidate other than the best, so the averages of the rest keep moving.
 * - Ties rotate by target index, so identical deployments share load.
 *
 * A candidate already probed and still unmeasured (its probe failed or has not answered) ranks
 * after every measured one: it has nothing to compare.
 */

/** How old a candidate's last sample may be and still count as its speed, ms. */
export const STALE_AFTER_MS = 30_000;
/** Share of requests sent to a candidate other than the best, so every average stays current. */
export const EXPLORATION_RATE = 0.05;

/** Rank classes, lower first: a probe is due; measured (by latency); probed, still unmeasured. */
const PROBE = 0;
const MEASURED = 1;
const WAITING = 2;

export class LeastLatencyBalancer implements Balancer {
  /** One cursor for probes and ties keeps each group rotating by target index. */
  #cursor = 0;
  /** When this balancer last sent a probe to each target index (a hole: never). */
  readonly #probedAtMs: number[] = [];

  constructor(
    private readonly random: () => number = Math.random,
    private readonly clock: Clock = systemClock,
  ) {}

  pick<T extends LoadCandidate>(candidates: readonly T[]): T | undefined {
    const n = candidates.length;
    if (n <= 1) return candidates[0];
    const now = this.clock.nowMs();
    // Pass 1: the best (class, latency).
    let bestClass = Infinity;
    let bestMs = Infinity;
    for (const c of candidates) {
      const cls = this.#classOf(c, now);
      const ms = cls === MEASURED ? c.stats.ttftMs! : 0;
      if (cls < bestClass || (cls === bestClass && ms < bestMs)) {
        bestClass = cls;
        bestMs = ms;
      }
    }
    // Pass 2: among the equally best, the lowest index at or after the cursor (wrapping).
    let atOrAfter: T | undefined;
    let lowest: T | undefined;
    for (const c of candidates) {
      const cls = this.#classOf(c, now);
      if (cls !== bestClass || (cls === MEASURED && c.stats.ttftMs !== bestMs)) continue;
      if (lowest === undefined || c.index < lowest.index) lowest = c;
      if (c.index >= this.#cursor && (atOrAfter === undefined || c.index < atOrAfter.index)) atOrAfter = c;
    }
    let picked = (atOrAfter ?? lowest)!;
    // A due probe is already exploration; otherwise explore now and then.
    if (bestClass !== PROBE && this.random() < EXPLORATION_RATE) picked = other(candidates, picked, this.random());
    this.#cursor = picked.index + 1;
    if (this.#classOf(picked, now) === PROBE) this.#probedAtMs[picked.index] = now;
    return picked;
  }

  #classOf(c: LoadCandidate, now: number): number {
    const ms = c.stats.ttftMs;
    const last = c.stats.lastSampleMs;
    // NaN cannot be compared, so it counts as "no usable sample".
    const fresh = ms !== undefined && !Number.isNaN(ms) && last !== undefined && now - last <= STALE_AFTER_MS;
    if (fresh) return MEASURED;
    const probed = this.#probedAtMs[c.index];
    if (probed === undefined || now - probed > STALE_AFTER_MS) return PROBE;
    return ms !== undefined && !Number.isNaN(ms) ? MEASURED : WAITING;
  }
}

/** The candidate at position ⌊r × (n − 1)⌋ among those other than `not` (r in [0, 1)). */
function other<T>(candidates: readonly T[], not: T, r: number): T {
  let k = Math.min(candidates.length - 2, Math.floor(r * (candidates.length - 1)));
  for (const c of candidates) {
    if (c === not) continue;
    if (k-- === 0) return c;
  }
  return not;
}
