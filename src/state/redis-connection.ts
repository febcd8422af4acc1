/**
 * The one Redis connection of a gateway process, and the guard around it (reliability.md,
 * "When Redis is down or slow"): every command has a tight timeout, nothing waits in an offline
 * queue, and a circuit breaker stops calling a Redis that keeps failing, so a slow or dead
 * Redis costs a request at most one command timeout, and usually nothing at all.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { ResolvedRedis } from '../config/load.js';
import { ioredis } from '../lazy-packages.js';
import { CircuitBreaker, type BreakerState } from '../resilience/breaker.js';
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

export class RedisConnection {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  readonly #breaker: CircuitBreaker;
  readonly #events: RedisConnectionEvents;

  constructor(config: ResolvedRedis, clock: Clock, events: RedisConnectionEvents = {}) {
    this.keyPrefix = config.keyPrefix;
    this.#events = events;
    this.client = createClient(config);
    // Errors surface through the calls below; without a listener ioredis would log each one.
    this.client.on('error', () => undefined);
    this.#breaker = new CircuitBreaker(
      {
        failureThreshold: config.breaker.failureThreshold,
        openMs: config.breaker.openMs,
        maxOpenMs: Math.max(config.breaker.openMs, config.breaker.maxOpenMs),
        jitterRatio: 0.2,
        halfOpenProbes: 1,
        probeTimeoutMs: config.commandTimeoutMs * 4,
      },
      clock,
      (t) => events.onBreakerTransition?.(t.from, t.to),
    );
  }

  /** Closed, open or half-open: the Redis breaker's state (exported as a metric). */
  get breakerState(): BreakerState {
    return this.#breaker.state;
  }

  /**
   * Runs one Redis call under the breaker. Rejects with StateUnavailableError when the breaker
   * is open or the call fails for any reason (timeouts included); never waits longer than the
   * command timeout.
   */
  async call<T>(fn: (client: RedisClient) => Promise<T>): Promise<T> {
    const permit = this.#breaker.tryAcquire();
    if (!permit) {
      this.#events.onFailure?.('breaker_open');
      throw new StateUnavailableError('breaker_open', Math.max(1, this.#breaker.retryAfterMs()));
    }
    try {
      const value = await fn(this.client);
      permit.success();
      return value;
    } catch (err) {
      permit.failure();
      const reason = reasonFor(err);
      this.#events.onFailure?.(reason);
      throw new StateUnavailableError(reason, Math.max(1, this.#breaker.retryAfterMs()), { cause: err });
    }
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

function createClient(config: ResolvedRedis): RedisClient {
  const { Cluster, Redis } = ioredis();
  const common = {
    // A request never waits for a reconnect: commands fail at once while disconnected…
    enableOfflineQueue: false,
    // …and are not retried behind the caller's back.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: config.commandTimeoutMs,
    connectTimeout: config.connectTimeoutMs,
    // Reconnect forever: ioredis counts attempts from 1, so 100 ms, doubling to the configured cap.
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
