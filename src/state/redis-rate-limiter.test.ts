import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../clock.js';
import { describeRateLimiterContract } from '../ratelimit/limiter-contract.js';
import { adminClient, redisSettings, SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from '../../test/helpers/redis.js';
import { RedisConnection } from './redis-connection.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

const available = await sharedRedisAvailable();
// Generous timeout: these tests check arithmetic, not latency, on a busy machine.
const conn = new RedisConnection(redisSettings(SHARED_REDIS_URL, { keyPrefix: uniquePrefix('limiter') }), systemClock);

/** A limiter on its own, empty key space. */
function limiterFor(label: string, clock?: ManualClock): RedisRateLimiter {
  return new RedisRateLimiter(conn, { keyPrefix: uniquePrefix(label), ...(clock ? { testClock: clock } : {}) });
}

afterAll(async () => {
  await conn.close();
});

describe.skipIf(!available)('RedisRateLimiter', () => {
  beforeAll(async () => {
    expect(await conn.waitReady(2_000)).toBe(true);
  });

  // The contract drives a ManualClock; the limiter takes it as its test-only time source (see
  // RedisRateLimiterOptions.testClock), so the same Lua script runs, with time from the test.
  describeRateLimiterContract('RedisRateLimiter (RateLimiter contract, real Redis)', (clock) => limiterFor('contract', clock), { livenessDecisions: 4_000 });

  it('puts one decision’s keys under one hash tag, every key with a TTL, and deletes full buckets', async () => {
    const prefix = uniquePrefix('keys');
    const limiter = new RedisRateLimiter(conn, { keyPrefix: prefix });
    const spec = { capacity: 10, refillPerSecond: 1 };
    const d = await limiter.consume([
      { key: 'acme|gpt|requests', kind: 'requests', bucket: spec, cost: 1 },
      { key: 'acme|gpt|tokens', kind: 'tokens', bucket: spec, cost: 5 },
    ]);
    expect(d.allowed).toBe(true);
    expect(limiter.redisKey('acme|gpt|requests')).toBe(`${prefix}rl:{acme|gpt}|requests`);
    const admin = adminClient();
    try {
      const keys = (await admin.keys(`${prefix}*`)).sort();
      expect(keys).toEqual([`${prefix}rl:{acme|gpt}|requests`, `${prefix}rl:{acme|gpt}|tokens`]);
      for (const k of keys) {
        const ttl = await admin.pttl(k);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(5_000 + 1_000);
      }
      await limiter.adjust('acme|gpt|tokens', spec, -100); // refund to full: the key goes away
      expect(await admin.exists(`${prefix}rl:{acme|gpt}|tokens`)).toBe(0);
    } finally {
      admin.disconnect();
    }
  });

  it('reads Redis TIME by default: a fresh bucket admits capacity, then rejects', async () => {
    const limiter = limiterFor('time');
    const spec = { capacity: 3, refillPerSecond: 0.001 };
    const results: boolean[] = [];
    for (let i = 0; i < 5; i++) results.push((await limiter.consume([{ key: 't|m|requests', kind: 'requests', bucket: spec, cost: 1 }])).allowed);
    expect(results).toEqual([true, true, true, false, false]);
  });
});
