/**
 * The one Redis connection of a gateway process, and the guard around it (reliability.md,
 * "When Redis is down or slow"). A slow Redis is not a dead Redis: a command waits for its reply
 * as long as the connection is alive, and the connection is judged as a whole
 * (liveness-watch.ts): it is dead when it closes or errors, or when commands are waiting and no
 * reply at all has arrived for `stallMs` of this process's event-loop time. That one event opens
 * the Redis breaker at once; every waiting command then fails (its limit follows its failure
 * mode, and its reply, should it come after all, is handed over for reconciliation), and while
 * the breaker is open no command is sent or waits. So a dead or stalled Redis costs a request at
 * most `stallMs` (the requests in flight when it stalls), and nothing once the breaker is open.
 * Nothing waits in an offline queue.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { ResolvedRedis } from '../config/load.js';
import { ioredis } from '../lazy-packages.js';
import { CircuitBreaker, type BreakerState } from '../resilience/breaker.js';
import { LivenessWatch } from './liveness-watch.js';
import type { LuaScript, RedisCommands, Subscription, SubscriptionHandlers } from './redis-commands.js';
import { reasonFor, StateUnavailableError, type StateFailureReason } from './state-errors.js';

/** The ioredis client: seen only here and by `call` (the guard's own tests); features use RedisCommands. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionEvents {
  /** A call failed or was refused by the open breaker. */
  readonly onFailure?: (reason: StateFailureReason) => void;
  readonly onBreakerTransition?: (from: BreakerState, to: BreakerState) => void;
}

/**
 * A socket that has received nothing for this long while commands wait is destroyed and
 * reconnected (ioredis `socketTimeout`): a black-holed connection (peer gone without a reset)
 * would otherwise stall every half-open probe forever. Long, because replies that come after a
 * stall are still wanted (reconciliation) and are lost with the socket.
 */
export const DEAD_SOCKET_MS = 10_000;

/** Why the connection was declared unavailable: shown to each waiting call as its failure reason. */
type Outage = Extract<StateFailureReason, 'timeout' | 'connection'>;

export class RedisConnection implements RedisCommands {
  readonly #client: RedisClient;
  readonly keyPrefix: string;
  readonly #breaker: CircuitBreaker;
  readonly #events: RedisConnectionEvents;
  readonly #stallMs: number;
  readonly #watch: LivenessWatch;
  /** Calls waiting for their reply, failed at once when the connection is declared unavailable. */
  readonly #waiting = new Set<(outage: Outage) => void>();
  #closing = false;

  constructor(config: ResolvedRedis, clock: Clock, events: RedisConnectionEvents = {}) {
    this.keyPrefix = config.keyPrefix;
    this.#events = events;
    this.#stallMs = config.stallMs;
    this.#client = createClient(config);
    this.#watch = new LivenessWatch({ stallMs: config.stallMs, onStall: () => this.#unavailable('timeout', 'stalled') });
    // A dropped connection is an outage at once (its waiting commands will never be answered).
    // Errors otherwise surface through the calls; without a listener ioredis would log each one.
    this.#client.on('error', () => undefined);
    this.#client.on('close', () => {
      if (!this.#closing) this.#unavailable('connection', 'connection closed');
    });
    this.#breaker = new CircuitBreaker(
      {
        // Counts only errors Redis answers with (a reply is life, so not an outage by itself).
        failureThreshold: config.breaker.failureThreshold,
        openMs: config.breaker.openMs,
        maxOpenMs: Math.max(config.breaker.openMs, config.breaker.maxOpenMs),
        jitterRatio: 0.2,
        halfOpenProbes: 1,
        probeTimeoutMs: config.stallMs * 2,
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
   * is open, the connection is declared unavailable while the call waits (stall, close), or
   * the call fails. A call that was sent but not answered carries `late`: its reply, should it
   * arrive after all, so the caller can reconcile what it decided without it.
   *
   * A half-open probe waits at most `stallMs` (loop time) for its own reply: it tests whether
   * Redis is healthy again, and a Redis that still drains old late replies is not.
   */
  async call<T>(fn: (client: RedisClient) => Promise<T>): Promise<T> {
    const probe = this.#breaker.state === 'half_open';
    const permit = this.#breaker.tryAcquire();
    if (!permit) {
      this.#events.onFailure?.('breaker_open');
      throw new StateUnavailableError('breaker_open', Math.max(1, this.#breaker.retryAfterMs()));
    }
    const settled = this.#watch.begin();
    // async: a synchronous throw becomes a rejection like any other failure.
    const work = (async () => fn(this.#client))();
    void work.then(settled, settled);
    let stopWaiting: () => void = () => undefined;
    const outage = new Promise<never>((_, reject) => {
      const onOutage = (reason: Outage): void => reject(new OutageError(reason));
      this.#waiting.add(onOutage);
      let probeTimer: LivenessWatch | undefined;
      if (probe) {
        probeTimer = new LivenessWatch({ stallMs: this.#stallMs, onStall: () => onOutage('timeout') });
        void work.then(probeTimer.begin(), () => undefined);
      }
      stopWaiting = () => {
        this.#waiting.delete(onOutage);
        probeTimer?.close();
      };
    });
    try {
      const value = await Promise.race([work, outage]);
      permit.success();
      return value;
    } catch (err) {
      const outageReason = err instanceof OutageError ? err.reason : undefined;
      const reason = outageReason ?? reasonFor(err);
      this.#events.onFailure?.(reason);
      if (outageReason === undefined && reason === 'connection') this.#unavailable('connection', 'connection error');
      // A probe that stalled re-opens the breaker; after an outage the permit is stale (no-op).
      permit.failure();
      const late = outageReason === undefined ? undefined : work.then((v) => v as unknown, () => new Promise<never>(() => undefined));
      throw new StateUnavailableError(reason, Math.max(1, this.#breaker.retryAfterMs()), { cause: err, ...(late ? { late } : {}) });
    } finally {
      stopWaiting();
    }
  }

  /** One event opens the breaker and fails every waiting call (no per-command failure counting). */
  #unavailable(outage: Outage, why: string): void {
    this.#breaker.trip(why);
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const fail of waiting) fail(outage);
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

  zrem(key: string, member: string): Promise<number> {
    return this.call((client) => client.zrem(key, member));
  }

  pttl(key: string): Promise<number> {
    return this.call((client) => client.pttl(key));
  }

  pexpire(key: string, ms: number): Promise<number> {
    return this.call((client) => client.pexpire(key, ms));
  }

  isReady(): boolean {
    return this.#client.status === 'ready';
  }

  onReady(listener: () => void): void {
    this.#client.on('ready', listener);
  }

  /**
   * A duplicate of the connection, subscribed to `channel` each time it is ready. Not guarded by
   * the breaker: nothing waits on it (messages are a bonus; missed ones are caught up by the
   * caller's onReady).
   */
  subscribe(channel: string, handlers: SubscriptionHandlers): Subscription {
    // Narrows the union: the two duplicate() signatures cannot be called through it.
    const subscriber = this.#client instanceof ioredis().Cluster ? this.#client.duplicate() : this.#client.duplicate();
    subscriber.on('error', () => undefined);
    subscriber.on('message', (_channel: string, message: string) => handlers.onMessage(message));
    subscriber.on('ready', () => {
      void subscriber.subscribe(channel).catch(() => undefined);
      handlers.onReady();
    });
    return { close: () => subscriber.disconnect() };
  }

  /**
   * Resolves once connected, or after `timeoutMs` either way: the gateway starts serving even
   * with Redis down (limits then follow their failure mode). Never rejects.
   */
  async waitReady(timeoutMs: number): Promise<boolean> {
    if (this.#client.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.#client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#client.once('ready', onReady);
    });
  }

  /** Closes the connection without waiting for pending replies (they fail fast instead). */
  async close(): Promise<void> {
    this.#closing = true;
    this.#watch.close();
    this.#client.disconnect();
  }
}

/** Raised inside `call` when the connection was declared unavailable while the call waited. */
class OutageError extends Error {
  constructor(readonly reason: Outage) {
    super(`Redis connection unavailable (${reason})`);
    this.name = 'OutageError';
  }
}

function createClient(config: ResolvedRedis): RedisClient {
  // A request never waits for a reconnect: commands fail at once while disconnected (no offline queue)…
  const common = {
    // …and are not retried behind the caller's back.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // No per-command timeout: liveness is judged by RedisConnection (stallMs); a socket silent
    // for DEAD_SOCKET_MS while commands wait is reconnected.
    socketTimeout: DEAD_SOCKET_MS,
    connectTimeout: config.connectTimeoutMs,
    // Reconnect forever: ioredis counts attempts from 1, so 100 ms, doubling to the configured cap.
    retryStrategy: (times: number) => Math.min(config.maxReconnectDelayMs, 50 * 2 ** Math.min(times, 10)),
  };
  return openRedisClient(config, common, false);
}

/** The ioredis options the gateway's clients set (the rest stay ioredis's defaults). */
export interface ClientOptions {
  readonly maxRetriesPerRequest: number | null;
  readonly connectTimeout: number;
  readonly retryStrategy: (times: number) => number;
  readonly autoResendUnfulfilledCommands?: boolean;
  readonly socketTimeout?: number;
}

/**
 * An ioredis client for `state.redis` (`url`, `mode`) with these options: one node, or a cluster
 * seeded from the URL's node (its credentials and TLS passed to every node). `enableOfflineQueue`
 * is a cluster-level setting there, so it is given apart.
 */
export function openRedisClient(config: Pick<ResolvedRedis, 'url' | 'mode'>, options: ClientOptions, enableOfflineQueue: boolean): RedisClient {
  const { Cluster, Redis } = ioredis();
  const url = config.url.reveal();
  if (config.mode === 'cluster') {
    const seed = new URL(url);
    return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
      enableOfflineQueue,
      clusterRetryStrategy: options.retryStrategy,
      redisOptions: {
        ...options,
        ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
        ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
        ...(seed.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    });
  }
  return new Redis(url, { ...options, enableOfflineQueue });
}
