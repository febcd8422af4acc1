/**
 * Time sources. Intervals (token buckets, breakers, backoff, cooldowns) use the monotonic clock
 * so that wall-clock jumps never admit or reject traffic; wall time is only for response
 * timestamps (`created`).
 */
export interface Clock {
  /** Monotonic milliseconds (fractional), for measuring intervals. Never goes backwards. */
  nowMs(): number;
  /** Wall-clock milliseconds since the Unix epoch, for timestamps shown to people. */
  wallMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
};

/**
 * `clock` shifted by `offsetMs` (monotonic and wall time alike). Test-only: it lets a test run
 * one replica with a skewed clock (L-05/R-07) to show that shared limits ignore replica clocks.
 */
export function offsetClock(clock: Clock, offsetMs: number): Clock {
  return { nowMs: () => clock.nowMs() + offsetMs, wallMs: () => clock.wallMs() + offsetMs };
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  #now: number;
  #wallOffset: number;

  constructor(startMs = 0, wallStartMs = 1_700_000_000_000) {
    this.#now = startMs;
    this.#wallOffset = wallStartMs - startMs;
  }

  nowMs(): number {
    return this.#now;
  }

  wallMs(): number {
    return this.#now + this.#wallOffset;
  }

  /** Moves time forward by `ms` (must be ≥ 0). */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('ManualClock cannot go backwards');
    this.#now += ms;
  }
}

/** Waits `ms` milliseconds, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
