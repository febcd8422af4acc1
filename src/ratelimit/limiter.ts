/**
 * The rate-limiter contract. The in-memory token bucket and (later) the Redis implementation
 * run the same algorithm and pass the same test suite, so the pipeline never knows which it has.
 */

/** A token bucket: holds up to `capacity`, refilled continuously at `refillPerSecond`. */
export interface BucketSpec {
  readonly capacity: number;
  readonly refillPerSecond: number;
}

/** Which kind of limit a bucket enforces; shown to clients in `x-ratelimit-*-<kind>` headers. */
export type LimitKind = 'requests' | 'tokens';

export interface LimitCheck {
  /** Bucket identity, e.g. "acme|gpt-mini|requests". Built from configured names only. */
  readonly key: string;
  readonly kind: LimitKind;
  readonly bucket: BucketSpec;
  /** How much to take (1 for requests; the token reservation for tokens). */
  readonly cost: number;
  /** What the check does while shared state is unavailable (FallbackRateLimiter); default open. */
  readonly failureMode?: FailureMode;
}

/** `open`: admit against a per-replica local fallback; `closed`: refuse. */
export type FailureMode = 'open' | 'closed';

export interface BucketState {
  readonly kind: LimitKind;
  readonly limit: number;
  /** Whole units left after this decision (never negative). */
  readonly remaining: number;
  /** Milliseconds until the bucket is full again. */
  readonly resetMs: number;
}

export interface LimitDecision {
  readonly allowed: boolean;
  /** When rejected: milliseconds until every bucket could pay its cost (0 when allowed). */
  readonly retryAfterMs: number;
  /** When rejected: the first bucket that could not pay. */
  readonly rejectedBy: LimitKind | undefined;
  /** When rejected because a cost exceeds a bucket's capacity, waiting can never help. */
  readonly impossible: boolean;
  /** The state of every checked bucket, in check order, for response headers. */
  readonly states: readonly BucketState[];
  /** True when shared state was unavailable and a local fallback decided (fail-open). */
  readonly degraded?: boolean;
}

export interface RateLimiter {
  /** All or nothing: takes each check's cost from its bucket only if every bucket can pay. */
  consume(checks: readonly LimitCheck[]): Promise<LimitDecision>;
  /**
   * Charges `delta` more units to a bucket after the fact (negative refunds), without ever
   * rejecting: this is how a token reservation is reconciled with real usage. A bucket may go
   * into debt (below zero), which later requests then wait out.
   */
  adjust(key: string, bucket: BucketSpec, delta: number): Promise<void>;
}
