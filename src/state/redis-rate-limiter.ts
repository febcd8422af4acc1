/**
 * The RateLimiter on Redis: the same token bucket with debt as MemoryRateLimiter, one atomic
 * Lua script per decision, so N replicas share every bucket exactly (no replica admits on a
 * count another has not seen).
 */
import type { Clock } from '../clock.js';
import type { BucketSpec, LimitCheck, LimitDecision, RateLimiter } from '../ratelimit/limiter.js';
import { validateCheck, validateSpec } from '../ratelimit/memory-limiter.js';
import { decodeBucketReply, type BucketReply } from './lua-replies.js';
import { luaScript, type RedisCommands } from './redis-commands.js';
import { StateUnavailableError } from './state-errors.js';
import { tokenBucketLua } from './token-bucket-script.js';

const script = luaScript(tokenBucketLua);

// Keys outlive the moment their bucket is full again by this much: a clock-free safety margin
// (the script deletes full buckets itself whenever it touches them).
const TTL_SLACK_MS = 1_000;

export interface RedisRateLimiterOptions {
  /**
   * Tests only. Production decisions read Redis `TIME` inside the script, one clock for every
   * replica. The shared contract suite (limiter-contract.ts) drives a ManualClock to check exact
   * refill arithmetic to the millisecond, which real time cannot do; given a clock here, the
   * script takes its time from this clock instead of `TIME` and runs otherwise unchanged.
   * Never set from configuration.
   */
  readonly testClock?: Clock;
  /** Overrides the connection's key prefix (tests isolate themselves on one connection). */
  readonly keyPrefix?: string;
}

/**
 * Bucket `key`s map to Redis keys `<prefix>rl:{<group>}<rest>`, where the group (the hash tag)
 * is the key up to its last `|`: Admission's keys are `tenant|model|kind`, so one decision's
 * buckets share the tag `{tenant|model}` and the script stays in one Redis Cluster slot.
 * Keys checked together in one consume must share their group on Redis Cluster.
 * consume/adjust reject with RangeError on invalid input (as the memory limiter does) and with
 * StateUnavailableError when Redis does not answer in time.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: RedisCommands;
  readonly #testClock: Clock | undefined;
  readonly #prefix: string;

  constructor(redis: RedisCommands, options: RedisRateLimiterOptions = {}) {
    this.#redis = redis;
    this.#testClock = options.testClock;
    this.#prefix = options.keyPrefix ?? redis.keyPrefix;
  }

  async consume(checks: readonly LimitCheck[]): Promise<LimitDecision> {
    for (const check of checks) validateCheck(check);
    const keys: string[] = [];
    const index = new Map<string, number>();
    const args: (string | number)[] = [this.#now(), TTL_SLACK_MS, 'consume'];
    for (const { key, bucket, cost } of checks) {
      let i = index.get(key);
      if (i === undefined) {
        keys.push(this.redisKey(key));
        i = keys.length;
        index.set(key, i);
      }
      args.push(i, bucket.capacity, bucket.refillPerSecond, cost);
    }
    let reply: unknown;
    try {
      reply = await this.#redis.evalScript(script, keys, args);
    } catch (err) {
      // Timed out: if Redis decides after all, say what it decided (FallbackRateLimiter reconciles).
      // A malformed late reply decides nothing: the late promise then never settles, as if none came.
      if (err instanceof StateUnavailableError && err.late) {
        const late = err.late.then((r) => decisionOf(checks, decodeBucketReply(r, checks.length))).catch(never);
        throw new StateUnavailableError(err.reason, err.retryAfterMs, { cause: err, late });
      }
      throw err;
    }
    return decisionOf(checks, decodeBucketReply(reply, checks.length));
  }

  async adjust(key: string, bucket: BucketSpec, delta: number): Promise<void> {
    validateSpec(bucket);
    if (!Number.isFinite(delta)) throw new RangeError(`adjust delta must be finite, got ${delta}`);
    const args = [this.#now(), TTL_SLACK_MS, 'adjust', 1, bucket.capacity, bucket.refillPerSecond, delta];
    await this.#redis.evalScript(script, [this.redisKey(key)], args);
  }

  /** The Redis key holding bucket `key` (exposed for tests and operators). */
  redisKey(key: string): string {
    const cut = key.lastIndexOf('|');
    const group = cut < 0 ? key : key.slice(0, cut);
    const rest = cut < 0 ? '' : key.slice(cut);
    return `${this.#prefix}rl:{${group}}${rest}`;
  }

  #now(): string {
    // JS's shortest round-trip decimal: Lua's tonumber reads back the same double.
    return this.#testClock ? String(this.#testClock.nowMs()) : '';
  }
}

/** The script's consume reply as a LimitDecision. */
function decisionOf(checks: readonly LimitCheck[], reply: BucketReply): LimitDecision {
  return {
    allowed: reply.allowed,
    retryAfterMs: reply.retryAfterMs,
    rejectedBy: reply.rejected ? checks[reply.rejected - 1]?.kind : undefined,
    impossible: reply.impossible,
    states: checks.map((c, i) => ({
      kind: c.kind,
      limit: c.bucket.capacity,
      remaining: reply.states[i]?.remaining ?? 0,
      resetMs: reply.states[i]?.resetMs ?? 0,
    })),
  };
}

/** A promise that never settles. */
const never = (): Promise<never> => new Promise<never>(() => undefined);
