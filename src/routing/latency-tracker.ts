/**
 * An exponentially weighted moving average of one target's latency, for the least-latency
 * balancer. EWMA needs O(1) memory and forgets old samples smoothly, so a deployment that
 * recovers is preferred again without a window to expire.
 */

/**
 * Tracks latency in ms. Constructor throws RangeError unless 0 < alpha ≤ 1 (the weight of
 * each new sample; higher reacts faster).
 */
export class LatencyTracker {
  readonly #alpha: number;
  #averageMs: number | undefined;

  constructor(alpha = 0.3) {
    if (!(alpha > 0 && alpha <= 1)) {
      throw new RangeError(`latency alpha must be in (0, 1], got ${alpha}`);
    }
    this.#alpha = alpha;
  }

  /** Adds one sample in ms; NaN, infinite and negative samples are ignored. Never throws. */
  record(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) return;
    this.#averageMs =
      this.#averageMs === undefined ? ms : this.#averageMs + this.#alpha * (ms - this.#averageMs);
  }

  /** The moving average in ms, or undefined before the first valid sample. */
  get averageMs(): number | undefined {
    return this.#averageMs;
  }
}
