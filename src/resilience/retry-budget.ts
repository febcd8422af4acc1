/**
 * Envoy-style retry budget: concurrent retries are capped at a share of concurrent requests,
 * so when an upstream fails broadly the gateway's own retries cannot multiply the load on it
 * (scenario F-19). The floor of `minConcurrent` keeps retries possible at low traffic, where a
 * percentage alone would round down to zero.
 */

export interface RetryBudgetOptions {
  /** Concurrent retries allowed as a percentage (finite, ≥ 0) of active requests. */
  readonly percent: number;
  /** Concurrent retries always allowed (integer ≥ 0), whatever the traffic. */
  readonly minConcurrent: number;
}

/**
 * Counts active requests and retries. The caller brackets each client request with
 * requestStarted/requestFinished and each retry attempt (not the first attempt) with a
 * successful tryStartRetry and retryFinished. Unbalanced "finished" calls are ignored, so the
 * counters never go negative. Constructor throws RangeError on invalid options.
 */
export class RetryBudget {
  readonly #percent: number;
  readonly #minConcurrent: number;
  #activeRequests = 0;
  #activeRetries = 0;

  constructor(options: RetryBudgetOptions) {
    if (!(Number.isFinite(options.percent) && options.percent >= 0)) {
      throw new RangeError(`retry budget percent must be finite and ≥ 0, got ${options.percent}`);
    }
    if (!(Number.isInteger(options.minConcurrent) && options.minConcurrent >= 0)) {
      throw new RangeError(
        `retry budget minConcurrent must be an integer ≥ 0, got ${options.minConcurrent}`,
      );
    }
    this.#percent = options.percent;
    this.#minConcurrent = options.minConcurrent;
  }

  /** Client requests currently in flight (≥ 0). */
  get activeRequests(): number {
    return this.#activeRequests;
  }

  /** Retry attempts currently in flight (≥ 0). */
  get activeRetries(): number {
    return this.#activeRetries;
  }

  /** Records that a client request began. */
  requestStarted(): void {
    this.#activeRequests += 1;
  }

  /** Records that a client request ended; no-op when none is active. */
  requestFinished(): void {
    if (this.#activeRequests > 0) this.#activeRequests -= 1;
  }

  /**
   * True (and counts the retry as active) while activeRetries <
   * max(minConcurrent, floor(activeRequests × percent / 100)); false means the budget is spent
   * and the caller should give up (or fail over without retrying) instead of waiting.
   */
  tryStartRetry(): boolean {
    if (this.#activeRetries >= this.#maxRetries()) return false;
    this.#activeRetries += 1;
    return true;
  }

  /** Records that a retry admitted by tryStartRetry ended; no-op when none is active. */
  retryFinished(): void {
    if (this.#activeRetries > 0) this.#activeRetries -= 1;
  }

  #maxRetries(): number {
    // Multiply before dividing so whole percentages of whole counts stay exact in floating point.
    const share = Math.floor((this.#activeRequests * this.#percent) / 100);
    return Math.max(this.#minConcurrent, share);
  }
}
