/**
 * Concurrency limits: how many requests of one tenant may be in flight at once. A slot is a
 * lease; whoever acquires one must release it exactly once, on every exit path (the request
 * flow does it in its `finally`). Shared implementations expire leases so that a crashed
 * replica cannot hold slots forever.
 */
import { StateUnavailableError } from '../state/state-errors.js';
import { LimitUnavailableError } from './fallback-limiter.js';
import type { FailureMode } from './limiter.js';

export interface Lease {
  /** Gives the slot back; later calls are no-ops. Never throws. */
  release(): void;
}

export interface Acquired {
  /** A slot, or undefined when `max` are already held (the caller answers 429). */
  readonly lease: Lease | undefined;
  /** True when shared state was unavailable and a local fallback decided (fail-open). */
  readonly degraded: boolean;
}

export interface ConcurrencyLimiter {
  acquire(key: string, max: number, failureMode?: FailureMode): Promise<Acquired>;
}

/** In-process slots: the single-replica limiter and the fail-open fallback. */
export class MemoryConcurrencyLimiter implements ConcurrencyLimiter {
  readonly #held = new Map<string, number>();

  /** Slots held under `key` (tests check that failures give every slot back). */
  inFlight(key: string): number {
    return this.#held.get(key) ?? 0;
  }

  async acquire(key: string, max: number): Promise<Acquired> {
    return { lease: this.tryAcquire(key, max), degraded: false };
  }

  tryAcquire(key: string, max: number): Lease | undefined {
    const held = this.#held.get(key) ?? 0;
    if (held >= max) return undefined;
    this.#held.set(key, held + 1);
    return once(() => {
      const now = (this.#held.get(key) ?? 1) - 1;
      if (now <= 0) this.#held.delete(key);
      else this.#held.set(key, now);
    });
  }
}

/**
 * Shared slots with failure modes: while shared state is unavailable, `open` admits against a
 * local share of max ÷ processes (at least 1), `closed` refuses with LimitUnavailableError.
 */
export class FallbackConcurrencyLimiter implements ConcurrencyLimiter {
  readonly #local = new MemoryConcurrencyLimiter();

  constructor(
    private readonly shared: ConcurrencyLimiter,
    /** How many processes share the limit right now; ≥ 1. */
    private readonly processes: () => number,
  ) {}

  async acquire(key: string, max: number, failureMode: FailureMode = 'open'): Promise<Acquired> {
    try {
      return await this.shared.acquire(key, max);
    } catch (err) {
      if (!(err instanceof StateUnavailableError)) throw err;
      if (failureMode === 'closed') throw new LimitUnavailableError('concurrency', err.retryAfterMs);
      return { lease: this.#local.tryAcquire(key, Math.max(1, Math.floor(max / this.processes()))), degraded: true };
    }
  }
}

export function once(fn: () => void): Lease {
  let done = false;
  return {
    release: () => {
      if (done) return;
      done = true;
      fn();
    },
  };
}
