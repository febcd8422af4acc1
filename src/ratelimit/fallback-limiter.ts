/**
 * Failure modes for limits kept in shared state: a Redis that is down or slow never blocks admission.
 * While the shared limiter answers, it decides alone. When it is unavailable, each check's
 * failure mode applies: `open` admits against a local bucket holding limit ÷ expectedReplicas
 * (so N replicas together stay near the limit), `closed` refuses the request.
 */
import { StateUnavailableError } from '../state/state-errors.js';
import type { BucketSpec, LimitCheck, LimitDecision, LimitKind, RateLimiter } from './limiter.js';
import { MemoryRateLimiter } from './memory-limiter.js';

/** Shared state is unavailable and a checked limit is fail-closed. */
export class LimitUnavailableError extends Error {
  constructor(
    readonly kind: LimitKind | 'concurrency',
    readonly retryAfterMs: number,
  ) {
    super(`the ${kind} limit cannot be checked right now`);
    this.name = 'LimitUnavailableError';
  }
}

/** A bucket scaled to one replica's share: limit ÷ expectedReplicas, refill likewise. */
export function localShare(bucket: BucketSpec, expectedReplicas: number): BucketSpec {
  return { capacity: bucket.capacity / expectedReplicas, refillPerSecond: bucket.refillPerSecond / expectedReplicas };
}

export class FallbackRateLimiter implements RateLimiter {
  readonly #shared: RateLimiter;
  readonly #local: RateLimiter;
  readonly #replicas: number;

  constructor(shared: RateLimiter, options: { expectedReplicas: number; local?: RateLimiter }) {
    this.#shared = shared;
    this.#local = options.local ?? new MemoryRateLimiter();
    this.#replicas = options.expectedReplicas;
  }

  /** Rejects with LimitUnavailableError when shared state is down and any check is fail-closed. */
  async consume(checks: readonly LimitCheck[]): Promise<LimitDecision> {
    try {
      return await this.#shared.consume(checks);
    } catch (err) {
      if (!(err instanceof StateUnavailableError)) throw err;
      const closed = checks.find((c) => c.failureMode === 'closed');
      if (closed) throw new LimitUnavailableError(closed.kind, err.retryAfterMs);
      const local = await this.#local.consume(checks.map((c) => ({ ...c, bucket: localShare(c.bucket, this.#replicas) })));
      // A cost that fits the real limit but not this replica's share is not "impossible": the
      // client should wait (for Redis, or for the local share to refill), not change its request.
      return {
        ...local,
        impossible: false,
        degraded: true,
        states: local.states.map((s, i) => ({ ...s, limit: checks[i]?.bucket.capacity ?? s.limit })),
      };
    }
  }

  /** Reconciles in shared state, or in the local share when shared state is unavailable. */
  async adjust(key: string, bucket: BucketSpec, delta: number): Promise<void> {
    try {
      await this.#shared.adjust(key, bucket, delta);
    } catch (err) {
      if (!(err instanceof StateUnavailableError)) throw err;
      await this.#local.adjust(key, localShare(bucket, this.#replicas), delta);
    }
  }
}
