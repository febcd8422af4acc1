/**
 * How many hedges one alias may start: at most `maxPercent` of its requests over a sliding
 * window, so a slow fleet costs latency once instead of doubling its own load (a hedge storm).
 * The floor of one hedge per window lets a quiet alias, whose percentage would round down to
 * nothing, still hedge its rare slow request.
 */

/** The sliding window the share is judged over, in buckets so each call is O(1). */
export const HEDGE_WINDOW_MS = 10_000;
const BUCKETS = 10;
const BUCKET_MS = HEDGE_WINDOW_MS / BUCKETS;
/** Hedges always allowed per window (when `maxPercent` > 0), whatever the traffic. */
export const HEDGE_FLOOR = 1;

export class HedgeBudget {
  readonly #requests = new Uint32Array(BUCKETS);
  readonly #hedges = new Uint32Array(BUCKETS);
  #requestTotal = 0;
  #hedgeTotal = 0;
  /** Index of the bucket that now holds the current instant (monotonic ms / BUCKET_MS). */
  #epoch: number;

  constructor(nowMs: number) {
    this.#epoch = Math.floor(nowMs / BUCKET_MS);
  }

  /** Counts one request to the alias (each hedged alias a request reaches counts it once). */
  requestStarted(nowMs: number): void {
    const i = this.#roll(nowMs);
    this.#requests[i] = this.#requests[i]! + 1;
    this.#requestTotal++;
  }

  /** Takes a hedge if the window has room for one more; false: refused (nothing taken). */
  tryHedge(nowMs: number, maxPercent: number): boolean {
    const i = this.#roll(nowMs);
    if (maxPercent <= 0) return false;
    if (this.#hedgeTotal >= Math.max(HEDGE_FLOOR, (this.#requestTotal * maxPercent) / 100)) return false;
    this.#hedges[i] = this.#hedges[i]! + 1;
    this.#hedgeTotal++;
    return true;
  }

  /** Empties the buckets that fell out of the window since the last call; returns the current one. */
  #roll(nowMs: number): number {
    const epoch = Math.floor(nowMs / BUCKET_MS);
    // At most BUCKETS buckets to clear, however long the alias was quiet.
    const stale = Math.min(BUCKETS, epoch - this.#epoch);
    for (let k = 1; k <= stale; k++) {
      const i = (this.#epoch + k) % BUCKETS;
      this.#requestTotal -= this.#requests[i]!;
      this.#hedgeTotal -= this.#hedges[i]!;
      this.#requests[i] = 0;
      this.#hedges[i] = 0;
    }
    if (epoch > this.#epoch) this.#epoch = epoch;
    return this.#epoch % BUCKETS;
  }
}
