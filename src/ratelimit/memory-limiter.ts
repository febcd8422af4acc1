/**
 * In-process token buckets: the single-replica limiter, and the local fallback when Redis is
 * down. Buckets refill lazily from the monotonic clock on each touch, so there are no timers.
 */
import { systemClock, type Clock } from '../clock.js';
import type {
  BucketSpec,
  BucketState,
  LimitCheck,
  LimitDecision,
  LimitKind,
  RateLimiter,
} from './limiter.js';

interface Bucket {
  tokens: number;
  updatedAtMs: number;
  spec: BucketSpec;
}

// Absorbs floating-point dust (0.1 + 0.2) so a bucket that has refilled exactly to the cost
// pays it; far below any real unit of requests or tokens.
const EPSILON = 1e-9;

// A full bucket is the same as no bucket (both mean "created full on first use"), so full
// ones are dropped in a sweep that runs after this many operations (or the map size, if
// larger): amortised O(1) per call, and keys of removed tenants or models do not pile up.
const SWEEP_EVERY = 1024;

/**
 * Token-bucket RateLimiter kept in memory (see RateLimiter for the contract). `consume` and
 * `adjust` reject with RangeError when a spec is not finite and > 0, a cost is not finite and
 * ≥ 0, or a delta is not finite; otherwise they always resolve.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();
  #opsSinceSweep = 0;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /** Buckets currently held in memory (full buckets may be dropped at any time). */
  get size(): number {
    return this.#buckets.size;
  }

  /** See RateLimiter.consume; retryAfterMs and resetMs are whole ms, rounded up. */
  async consume(checks: readonly LimitCheck[]): Promise<LimitDecision> {
    for (const check of checks) validateCheck(check);
    const now = this.#clock.nowMs();
    const before = new Map<string, number>();
    for (const { key, bucket } of checks) {
      if (!before.has(key)) before.set(key, this.#refilled(key, bucket, now));
    }
    const plan = planConsume(checks, before);
    const allowed = plan.rejectedBy === undefined;
    // When rejected nothing is taken, but the refilled values are still stored: refill is a
    // pure function of time, and storing it keeps later arithmetic identical to retryAfterMs's.
    const final = allowed ? plan.after : before;
    for (const { key, bucket } of checks) this.#store(key, bucket, final.get(key) ?? 0, now);
    this.#maybeSweep(now);
    return {
      allowed,
      retryAfterMs: allowed ? 0 : plan.retryAfterMs,
      rejectedBy: plan.rejectedBy,
      impossible: plan.impossible,
      states: checks.map((c) => bucketState(c.kind, c.bucket, final.get(c.key) ?? 0)),
    };
  }

  /** See RateLimiter.adjust: positive `delta` charges (may go into debt), negative refunds. */
  async adjust(key: string, bucket: BucketSpec, delta: number): Promise<void> {
    validateAdjustment(bucket, delta);
    const now = this.#clock.nowMs();
    const tokens = Math.min(bucket.capacity, this.#refilled(key, bucket, now) - delta);
    this.#store(key, bucket, tokens, now);
    this.#maybeSweep(now);
  }

  /** Sets a bucket to hold `tokens` now (at most its capacity): FallbackRateLimiter seeds its local share. */
  seed(key: string, bucket: BucketSpec, tokens: number): void {
    validateSpec(bucket);
    if (!Number.isFinite(tokens)) throw new RangeError(`seed tokens must be finite, got ${tokens}`);
    this.#store(key, bucket, Math.min(bucket.capacity, tokens), this.#clock.nowMs());
  }

  #refilled(key: string, spec: BucketSpec, now: number): number {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return spec.capacity;
    return refill(bucket.tokens, now - bucket.updatedAtMs, spec);
  }

  #store(key: string, spec: BucketSpec, tokens: number, now: number): void {
    this.#buckets.set(key, { tokens, updatedAtMs: now, spec });
  }

  #maybeSweep(now: number): void {
    this.#opsSinceSweep += 1;
    if (this.#opsSinceSweep < Math.max(SWEEP_EVERY, this.#buckets.size)) return;
    this.#opsSinceSweep = 0;
    for (const [key, bucket] of this.#buckets) {
      const tokens = refill(bucket.tokens, now - bucket.updatedAtMs, bucket.spec);
      if (tokens >= bucket.spec.capacity) this.#buckets.delete(key);
    }
  }
}

interface ConsumePlan {
  /** Tokens each key would hold if every check paid. */
  readonly after: Map<string, number>;
  readonly retryAfterMs: number;
  readonly rejectedBy: LimitKind | undefined;
  readonly impossible: boolean;
}

// Checks every bucket before taking from any (all or nothing); a key checked twice in one call
// sees the first check's take.
function planConsume(checks: readonly LimitCheck[], before: Map<string, number>): ConsumePlan {
  const after = new Map(before);
  let retryAfterMs = 0;
  let rejectedBy: LimitKind | undefined;
  let impossible = false;
  for (const { key, kind, bucket, cost } of checks) {
    const available = after.get(key) ?? bucket.capacity;
    const tooBig = cost > bucket.capacity;
    if (!tooBig && canPay(available, cost)) {
      after.set(key, available - cost);
      continue;
    }
    impossible ||= tooBig;
    rejectedBy ??= kind;
    // Filling up is the most waiting can do for a too-big cost; callers see `impossible`.
    const needed = tooBig ? bucket.capacity : cost;
    retryAfterMs = Math.max(retryAfterMs, msUntilAvailable(available, needed, bucket));
  }
  return { after, retryAfterMs, rejectedBy, impossible };
}

function refill(tokens: number, elapsedMs: number, spec: BucketSpec): number {
  const gained = (Math.max(0, elapsedMs) * spec.refillPerSecond) / 1000;
  return Math.min(spec.capacity, tokens + gained);
}

function canPay(available: number, cost: number): boolean {
  return available - cost >= -EPSILON;
}

/**
 * Smallest whole number of ms after which a bucket holding `available` can pay `needed`
 * (≤ capacity): waiting exactly the answer succeeds and 1 ms less fails.
 */
function msUntilAvailable(available: number, needed: number, spec: BucketSpec): number {
  if (canPay(available, needed)) return 0;
  const estimate = ((needed - available - EPSILON) * 1000) / spec.refillPerSecond;
  let waitMs = Math.max(1, Math.ceil(estimate));
  // Rounding could leave the estimate a hair short; a client told to come back too early is
  // rejected again, so check against `refill` itself. (Bounded: past 2^53 ms, +1 is a no-op.)
  for (let i = 0; i < 3 && !canPay(refill(available, waitMs, spec), needed); i++) waitMs += 1;
  return waitMs;
}

function bucketState(kind: LimitKind, spec: BucketSpec, tokens: number): BucketState {
  return {
    kind,
    limit: spec.capacity,
    remaining: Math.max(0, Math.floor(tokens + EPSILON)),
    resetMs: msUntilAvailable(tokens, spec.capacity, spec),
  };
}

/** Throws RangeError for what `adjust` refuses: an invalid spec or a non-finite delta. */
export function validateAdjustment(spec: BucketSpec, delta: number): void {
  validateSpec(spec);
  if (!Number.isFinite(delta)) throw new RangeError(`adjust delta must be finite, got ${delta}`);
}

/** Throws RangeError unless capacity and refillPerSecond are finite and > 0. */
export function validateSpec(spec: BucketSpec): void {
  const ok = (n: number): boolean => Number.isFinite(n) && n > 0;
  if (!ok(spec.capacity) || !ok(spec.refillPerSecond)) {
    throw new RangeError(
      `bucket capacity and refillPerSecond must be finite and > 0, got ` +
        `${spec.capacity} and ${spec.refillPerSecond}`,
    );
  }
}

/** Throws RangeError for an invalid spec or a cost that is not finite and ≥ 0. */
export function validateCheck(check: LimitCheck): void {
  validateSpec(check.bucket);
  if (!(Number.isFinite(check.cost) && check.cost >= 0)) {
    throw new RangeError(`limit cost must be finite and ≥ 0, got ${check.cost}`);
  }
}
