/**
 * All the features need from Redis (rate limits, concurrency slots, cooldowns, the process
 * registry): Lua scripts, three plain commands, one pub/sub channel and a readiness signal.
 * RedisConnection implements it over ioredis, behind its breaker and liveness watch; the
 * features take this interface and never see an ioredis type, so what they may do to Redis is
 * written down here and a fake is a few lines.
 *
 * Every command rejects with StateUnavailableError when Redis cannot answer (breaker open,
 * connection stalled or closed, command failed). Script replies are `unknown`: each script has a
 * decoder (lua-replies.ts) that checks its shape.
 */
import { createHash } from 'node:crypto';

/** A Lua script run by SHA, re-sent whole when Redis answers NOSCRIPT (restart, SCRIPT FLUSH). */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** A subscription to one channel on its own connection (a subscribed connection can do nothing else). */
export interface Subscription {
  /** Closes the subscriber connection. */
  close(): void;
}

export interface SubscriptionHandlers {
  readonly onMessage: (message: string) => void;
  /** The subscriber (re)connected and subscribed: messages sent while it was away are lost. */
  readonly onReady: () => void;
}

export interface RedisCommands {
  /** Prefix of every key and channel (several gateways, or tests, can share one Redis). */
  readonly keyPrefix: string;
  /** EVALSHA, falling back to EVAL on NOSCRIPT. The raw reply: decode it (lua-replies.ts). */
  evalScript(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /** ZREM of one member; resolves with the number removed. */
  zrem(key: string, member: string): Promise<number>;
  /** PTTL: ms left, -1 without expiry, -2 when the key does not exist. */
  pttl(key: string): Promise<number>;
  /** PEXPIRE; resolves with 1 when the key exists. */
  pexpire(key: string, ms: number): Promise<number>;
  /** Whether the command connection is up now (commands sent now would not fail at once). */
  isReady(): boolean;
  /** Called each time the command connection becomes ready (first connect and every reconnect). */
  onReady(listener: () => void): void;
  /** Subscribes to `channel` on a new connection; it resubscribes by itself after a reconnect. */
  subscribe(channel: string, handlers: SubscriptionHandlers): Subscription;
}
