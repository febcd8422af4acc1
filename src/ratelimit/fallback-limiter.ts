/**
 * Failure modes for limits kept in shared state: a Redis that is down or slow never blocks admission.
 * While the shared limiter answers, it decides alone. When it is unavailable, each check's
 * failure mode applies: `open` admits against a local bucket holding limit ÷ processes (every
 * gateway process sharing the limit, workers included: see state/process-registry.ts), so that
 * together they stay near the limit; `closed` refuses the request.
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

/** A bucket scaled to one process's share: limit ÷ processes, refill likewise. */
export function localShare(bucket: BucketSpec, processes: number): BucketSpec {
  return { capacity: bucket.capacity / processes, refillPerSecond: bucket.refillPerSecond / processes };
}

export interface FallbackOptions {
  /** How many processes share the limit right now (read at each fallback decision); ≥ 1. */
  readonly processes: () => number;
  readonly local?: MemoryRateLimiter;
}

// Buckets whose last shared answer is remembered (configured tenant × model × kind, so few);
// beyond this the oldest are forgotten and fall back to a plain share.
const MAX_KNOWN = 10_000;

/**
 * Exactness while shared state answers, bounded drift when it does not:
 *
 * - The local share of a bucket starts from what shared state last said was left (÷ processes),
 *   not from a full bucket: a process that times out once, after the limit was spent, refuses
 *   (a lone slow reply on a busy machine no longer admits a fresh share).
 * - A decision that timed out but ran in shared state after all (`late`) is reconciled with what
 *   was decided without it, so it is counted once: where the request was admitted locally, the
 *   local charge is given back and the shared bucket keeps (or gets) the charge; where it was
 *   refused, a shared charge is refunded.
 */
export class FallbackRateLimiter implements RateLimiter {
  readonly #shared: RateLimiter;
  readonly #local: MemoryRateLimiter;
  readonly #processes: () => number;
  /** Per bucket key: whole units left by the last shared decision, and whether the local share was seeded from it. */
  readonly #known = new Map<string, { remaining: number; seeded: boolean }>();

  constructor(shared: RateLimiter, options: FallbackOptions) {
    this.#shared = shared;
    this.#local = options.local ?? new MemoryRateLimiter();
    this.#processes = options.processes;
  }

  /** Rejects with LimitUnavailableError when shared state is down and any check is fail-closed. */
  async consume(checks: readonly LimitCheck[]): Promise<LimitDecision> {
    let decision: LimitDecision;
    try {
      decision = await this.#shared.consume(checks);
    } catch (err) {
      if (!(err instanceof StateUnavailableError)) throw err;
      return this.#fallback(checks, err);
    }
    decision.states.forEach((s, i) => {
      const key = checks[i]?.key;
      if (key !== undefined) this.#remember(key, s.remaining);
    });
    return decision;
  }

  /** Reconciles in shared state, or in the local share when shared state is unavailable. */
  async adjust(key: string, bucket: BucketSpec, delta: number): Promise<void> {
    try {
      await this.#shared.adjust(key, bucket, delta);
    } catch (err) {
      if (!(err instanceof StateUnavailableError)) throw err;
      await this.#local.adjust(key, localShare(bucket, this.#processes()), delta);
    }
  }

  async #fallback(checks: readonly LimitCheck[], err: StateUnavailableError): Promise<LimitDecision> {
    const closed = checks.find((c) => c.failureMode === 'closed');
    const processes = this.#processes();
    const local = closed ? undefined : await this.#local.consume(checks.map((c) => ({ ...c, bucket: this.#seededShare(c, processes) })));
    if (err.late) void err.late.then((late) => this.#reconcile(checks, processes, local?.allowed === true, late as LimitDecision));
    if (closed) throw new LimitUnavailableError(closed.kind, err.retryAfterMs);
    if (!local) throw err;
    // A cost that fits the real limit but not this process's share is not "impossible": the
    // client should wait (for Redis, or for the local share to refill), not change its request.
    return {
      ...local,
      impossible: false,
      degraded: true,
      states: local.states.map((s, i) => ({ ...s, limit: checks[i]?.bucket.capacity ?? s.limit })),
    };
  }

  /** This process's share of a check's bucket, seeded once from the last shared answer. */
  #seededShare(check: LimitCheck, processes: number): BucketSpec {
    const share = localShare(check.bucket, processes);
    const known = this.#known.get(check.key);
    if (known && !known.seeded) {
      known.seeded = true;
      this.#local.seed(check.key, share, known.remaining / processes);
    }
    return share;
  }

  #remember(key: string, remaining: number): void {
    this.#known.delete(key);
    this.#known.set(key, { remaining, seeded: false });
    if (this.#known.size > MAX_KNOWN) {
      const oldest = this.#known.keys().next();
      if (!oldest.done) this.#known.delete(oldest.value);
    }
  }

  /** A timed-out decision ran after all: make every bucket count the request once. Best effort, never retried. */
  #reconcile(checks: readonly LimitCheck[], processes: number, admittedHere: boolean, late: LimitDecision): void {
    const ignore = (): undefined => undefined;
    for (const c of checks) {
      if (admittedHere) {
        this.#local.adjust(c.key, localShare(c.bucket, processes), -c.cost).catch(ignore);
        if (!late.allowed) this.#shared.adjust(c.key, c.bucket, c.cost).catch(ignore);
      } else if (late.allowed) {
        this.#shared.adjust(c.key, c.bucket, -c.cost).catch(ignore);
      }
    }
  }
}
