/**
 * The one Redis connection of a gateway process, and the guard around it (reliability.md,
 * "When Redis is down or slow"): every command has a tight timeout, nothing waits in an offline
 * queue, and a circuit breaker stops calling a Redis that keeps failing, so a slow or dead
 * Redis costs a request at most one command timeout, and usually nothing at all.
 *
 * The timeout is measured against this process's event loop (loop-aware-deadline.ts): a loop
 * that ran late is not a slow Redis, so a busy machine does not open the breaker.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { ResolvedRedis } from '../config/load.js';
import { ioredis } from '../lazy-packages.js';
import { CircuitBreaker, type BreakerState } from '../resilience/breaker.js';
import { DeadlineExceededError, withDeadline } from './loop-aware-deadline.js';
import { reasonFor, StateUnavailableError, type StateFailureReason } from './state-errors.js';

export type RedisClient = Redis | Cluster;

export interface RedisConnectionEvents {
  /** A call failed or was refused by the open breaker. */
  readonly onFailure?: (reason: StateFailureReason) => void;
  readonly onBreakerTransition?: (from: BreakerState, to: BreakerState) => void;
}

/** A Lua script run by SHA, re-sent whole when Redis answers NOSCRIPT (restart, SCRIPT FLUSH). */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * However late this process's event loop or Redis runs, a Redis call fails after this many
 * command timeouts of wall time (200 ms at the default 50 ms): the most a slow or dead Redis
 * costs a request before the breaker opens.
 */
export const MAX_WAIT_TIMEOUTS = 4;

export class RedisConnection {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  readonly #breaker: CircuitBreaker;
  readonly #events: RedisConnectionEvents;
  readonly #timeoutMs: number;
  readonly #maxWaitMs: number;
  /** Calls waiting for the outcome of a timed-out command, woken when the breaker opens. */
  readonly #awaitingOutcome = new Set<() => void>();

  constructor(config: ResolvedRedis, clock: Clock, events: RedisConnectionEvents = {}) {
    this.keyPrefix = config.keyPrefix;
    this.#events = events;
    this.#timeoutMs = config.commandTimeoutMs;
    this.#maxWaitMs = config.commandTimeoutMs * MAX_WAIT_TIMEOUTS;
    this.client = createClient(config, this.#maxWaitMs);
    // Errors surface through the calls below; without a listener ioredis would log each one.
    this.client.on('error', () => undefined);
    this.#breaker = new CircuitBreaker(
      {
        failureThreshold: config.breaker.failureThreshold,
        openMs: config.breaker.openMs,
        maxOpenMs: Math.max(config.breaker.openMs, config.breaker.maxOpenMs),
        jitterRatio: 0.2,
        halfOpenProbes: 1,
        probeTimeoutMs: this.#maxWaitMs * 2,
      },
      clock,
      (t) => {
        events.onBreakerTransition?.(t.from, t.to);
        if (t.to === 'open') for (const wake of this.#awaitingOutcome) wake();
      },
    );
  }

  /** Closed, open or half-open: the Redis breaker's state (exported as a metric). */
  get breakerState(): BreakerState {
    return this.#breaker.state;
  }

  /**
   * Runs one Redis call under the breaker. Rejects with StateUnavailableError when the breaker
   * is open or the call fails; never waits more than MAX_WAIT_TIMEOUTS command timeouts.
   *
   * A call with no answer after the command timeout (of event-loop time) is counted as a
   * timeout (metric), but its outcome is unknown, not negative: on a busy machine the script may
   * sit behind a descheduled Redis for tens of milliseconds, and every call pipelined on the
   * connection times out together. Deciding without it would admit from a local share while
   * Redis is fine. So the call keeps waiting for that answer until it arrives (and is used), the
   * breaker opens (other calls failed), or MAX_WAIT_TIMEOUTS pass; only then does it count as a
   * failure against the breaker. Given up, the error's `late` still carries the answer if it
   * arrives, for reconciliation.
   */
  async call<T>(fn: (client: RedisClient) => Promise<T>): Promise<T> {
    const permit = this.#breaker.tryAcquire();
    if (!permit) {
      this.#events.onFailure?.('breaker_open');
      throw new StateUnavailableError('breaker_open', Math.max(1, this.#breaker.retryAfterMs()));
    }
    const startedAt = performance.now();
    let arrivedLate: (value: unknown) => void = () => undefined;
    const late = new Promise<unknown>((resolve) => (arrivedLate = resolve));
    let failedLate: () => void = () => undefined;
    const lateFailure = new Promise<void>((resolve) => (failedLate = resolve));
    try {
      const value = await withDeadline(fn(this.client), { timeoutMs: this.#timeoutMs, maxMs: this.#maxWaitMs, onLate: arrivedLate, onLateFailure: failedLate });
      permit.success();
      return value;
    } catch (err) {
      const reason = reasonFor(err);
      this.#events.onFailure?.(reason);
      if (err instanceof DeadlineExceededError) {
        const outcome = await this.#awaitOutcome(late, lateFailure, this.#maxWaitMs - (performance.now() - startedAt));
        if (outcome.arrived) {
          permit.success();
          return outcome.value as T;
        }
      }
      permit.failure();
      throw new StateUnavailableError(reason, Math.max(1, this.#breaker.retryAfterMs()), { cause: err, ...(err instanceof DeadlineExceededError ? { late } : {}) });
    }
  }

  /** Waits for a timed-out call's answer while Redis is not declared unavailable, at most `leftMs`. */
  #awaitOutcome(late: Promise<unknown>, lateFailure: Promise<void>, leftMs: number): Promise<{ arrived: true; value: unknown } | { arrived: false }> {
    if (this.#breaker.state === 'open' || leftMs <= 0) return Promise.resolve({ arrived: false });
    return new Promise((resolve) => {
      const done = (outcome: { arrived: true; value: unknown } | { arrived: false }): void => {
        clearTimeout(timer);
        this.#awaitingOutcome.delete(giveUp);
        resolve(outcome);
      };
      const giveUp = (): void => done({ arrived: false });
      const timer = setTimeout(giveUp, leftMs);
      this.#awaitingOutcome.add(giveUp);
      void late.then((value) => done({ arrived: true, value }));
      void lateFailure.then(giveUp);
    });
  }

  /** EVALSHA, falling back to EVAL (which caches the script again) on NOSCRIPT. Guarded by `call`. */
  evalScript(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.call(async (client) => {
      try {
        return await client.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return client.eval(script.source, keys.length, ...keys, ...args);
      }
    });
  }

  /**
   * Resolves once connected, or after `timeoutMs` either way: the gateway starts serving even
   * with Redis down (limits then follow their failure mode). Never rejects.
   */
  async waitReady(timeoutMs: number): Promise<boolean> {
    if (this.client.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.client.once('ready', onReady);
    });
  }

  /** Closes the connection without waiting for pending replies (they fail fast instead). */
  async close(): Promise<void> {
    this.client.disconnect();
  }
}

function createClient(config: ResolvedRedis, maxWaitMs: number): RedisClient {
  const { Cluster, Redis } = ioredis();
  const common = {
    // A request never waits for a reconnect: commands fail at once while disconnected…
    enableOfflineQueue: false,
    // …and are not retried behind the caller's back.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The real deadline is RedisConnection.call's; this backstop only frees the pending command
    // (a black-holed socket would otherwise keep it) once nobody waits for it any more.
    commandTimeout: maxWaitMs + config.commandTimeoutMs,
    connectTimeout: config.connectTimeoutMs,
    // Reconnect forever, backing off from 50 ms to the configured cap.
    retryStrategy: (times: number) => Math.min(config.maxReconnectDelayMs, 50 * 2 ** Math.min(times, 10)),
  };
  const url = config.url.reveal();
  if (config.mode === 'cluster') {
    const seed = new URL(url);
    return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
      enableOfflineQueue: false,
      clusterRetryStrategy: common.retryStrategy,
      redisOptions: {
        ...common,
        ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
        ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
        ...(seed.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    });
  }
  return new Redis(url, common);
}
