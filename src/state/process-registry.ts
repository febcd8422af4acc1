/**
 * How many gateway processes share this Redis, so that during an outage each one's local share
 * of a limit is limit ÷ processes (fallback-limiter.ts) and together they stay near the limit.
 *
 * Every gateway process (each worker of `serve --workers N` counts as one: each has its own
 * fallback) keeps a heartbeat in the sorted set `<prefix>procs`, member = a random id, score =
 * its expiry on Redis's clock, renewed every HEARTBEAT_MS. The same script drops expired members
 * and answers how many are live, and the count is remembered: during an outage Redis cannot be
 * asked, so the last count heard is the one used. The configured `state.expectedReplicas` is a
 * floor (processes that never reached Redis are not registered, but they admit too).
 */
import { randomUUID } from 'node:crypto';
import { decodeCountReply } from './lua-replies.js';
import { luaScript, type RedisCommands } from './redis-commands.js';

// A process that stops heartbeating (crash, partition) stops counting after HEARTBEAT_TTL_MS.
export const HEARTBEAT_MS = 5_000;
export const HEARTBEAT_TTL_MS = 3 * HEARTBEAT_MS;

const heartbeatScript = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
`);

export class ProcessRegistry {
  readonly #redis: RedisCommands;
  readonly #key: string;
  readonly #id = randomUUID();
  readonly #floor: number;
  #live: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(redis: RedisCommands, expectedReplicas: number) {
    this.#redis = redis;
    this.#key = `${redis.keyPrefix}procs`;
    this.#floor = expectedReplicas;
  }

  /** Live gateway processes on this Redis as last heard (this one included), at least expectedReplicas and 1. */
  processes(): number {
    return Math.max(1, this.#floor, this.#live ?? 0);
  }

  /** Heartbeats now (resolves once answered or failed) and every HEARTBEAT_MS after. */
  async start(): Promise<void> {
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
      this.#timer.unref();
    }
    await this.beat();
  }

  /** One heartbeat; failures leave the last count in place. */
  async beat(): Promise<void> {
    try {
      const live = decodeCountReply('process registry heartbeat', await this.#redis.evalScript(heartbeatScript, [this.#key], [this.#id, HEARTBEAT_TTL_MS]));
      if (live >= 1) this.#live = live;
    } catch {
      // Redis unavailable (or a malformed reply): keep the last count heard.
    }
  }

  /** Stops heartbeating and leaves the set, so the others' shares grow at once. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#redis.zrem(this.#key, this.#id).catch(() => undefined);
  }
}
