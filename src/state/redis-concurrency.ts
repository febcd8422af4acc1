/**
 * Concurrency slots in Redis, shared by every replica. A tenant's slots are one sorted set
 * `<prefix>cc:{tenant}` of lease ids scored by their expiry on Redis's clock (`TIME`). Acquiring
 * drops expired leases and adds one only if fewer than `max` remain, in one script; a held lease
 * is renewed every leaseMs ÷ 3, so a crashed replica's slots come back after at most leaseMs.
 */
import { randomUUID } from 'node:crypto';
import { once, type Acquired, type ConcurrencyLimiter } from '../ratelimit/concurrency.js';
import { decodeAcquireReply, decodeCountReply } from './lua-replies.js';
import { luaScript, type RedisCommands } from './redis-commands.js';
import { StateUnavailableError } from './state-errors.js';

const acquireScript = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[4] == 'renew' then
  local renewed = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], lease)
  return renewed
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease)
return 1
`);

// Leases not yet expired, on Redis's clock.
const inFlightScript = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], now, '+inf')
`);

export class RedisConcurrencyLimiter implements ConcurrencyLimiter {
  constructor(
    private readonly redis: RedisCommands,
    private readonly leaseMs: number,
    private readonly keyPrefix = redis.keyPrefix,
  ) {}

  /** Rejects with StateUnavailableError when Redis does not answer in time. */
  async acquire(key: string, max: number): Promise<Acquired> {
    const redisKey = this.redisKey(key);
    const id = randomUUID();
    let got: boolean;
    try {
      got = decodeAcquireReply(await this.redis.evalScript(acquireScript, [redisKey], [id, max, this.leaseMs, 'acquire']));
    } catch (err) {
      // A grant that arrives after we gave up holds a slot for nobody: give it back at once.
      if (err instanceof StateUnavailableError) void err.late?.then((late) => {
          if (grantedLate(late)) void this.redis.zrem(redisKey, id).catch(() => undefined);
        });
      throw err;
    }
    if (!got) return { lease: undefined, degraded: false };
    // Renewal failures are ignored: the lease then lapses early, which frees a slot sooner
    // (never later) than the request ends.
    const renew = setInterval(() => {
      void this.redis.evalScript(acquireScript, [redisKey], [id, max, this.leaseMs, 'renew']).catch(() => undefined);
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    renew.unref();
    const lease = once(() => {
      clearInterval(renew);
      // If Redis is unavailable now, the lease expires on its own after leaseMs.
      void this.redis.zrem(redisKey, id).catch(() => undefined);
    });
    return { lease, degraded: false };
  }

  /** Slots currently held under `key` (leases not yet expired), for tests and operators. */
  async inFlight(key: string): Promise<number> {
    return decodeCountReply('concurrency in-flight', await this.redis.evalScript(inFlightScript, [this.redisKey(key)], []));
  }

  redisKey(key: string): string {
    return `${this.keyPrefix}cc:{${key}}`;
  }
}

/** Whether a reply that came after we gave up granted a slot (a malformed one is treated as no). */
function grantedLate(reply: unknown): boolean {
  try {
    return decodeAcquireReply(reply);
  } catch {
    return false;
  }
}
