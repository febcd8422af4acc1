import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { redisSettings, SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from '../../test/helpers/redis.js';
import { RedisConcurrencyLimiter } from './redis-concurrency.js';
import { RedisConnection } from './redis-connection.js';

const available = await sharedRedisAvailable();
const connections: RedisConnection[] = [];

async function connection(prefix: string): Promise<RedisConnection> {
  const c = new RedisConnection(redisSettings(SHARED_REDIS_URL, { keyPrefix: prefix }), systemClock);
  connections.push(c);
  expect(await c.waitReady(2_000)).toBe(true);
  return c;
}

afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
});

describe.skipIf(!available)('RedisConcurrencyLimiter', () => {
  it('shares slots between replicas and gives them back on release', async () => {
    const prefix = uniquePrefix('slots');
    const a = new RedisConcurrencyLimiter(await connection(prefix), 5_000);
    const b = new RedisConcurrencyLimiter(await connection(prefix), 5_000);
    const first = await a.acquire('acme', 2);
    const second = await b.acquire('acme', 2);
    expect([first.lease, second.lease].every((l) => l !== undefined)).toBe(true);
    expect((await a.acquire('acme', 2)).lease).toBeUndefined();
    expect((await b.acquire('other', 2)).lease).toBeDefined();
    expect(await a.inFlight('acme')).toBe(2);
    first.lease?.release();
    first.lease?.release(); // idempotent
    await expect.poll(() => b.inFlight('acme')).toBe(1);
    second.lease?.release();
    await expect.poll(() => a.inFlight('acme')).toBe(0);
  });

  it('a crashed replica’s slots come back once its leases expire; a live replica keeps its lease renewed', async () => {
    const prefix = uniquePrefix('crash');
    const crashed = await connection(prefix);
    const dead = new RedisConcurrencyLimiter(crashed, 600);
    const live = new RedisConcurrencyLimiter(await connection(prefix), 600);
    expect((await dead.acquire('acme', 2)).lease).toBeDefined();
    const kept = await live.acquire('acme', 2);
    expect(kept.lease).toBeDefined();
    await crashed.close(); // no release, no renewal: as if the process died
    expect((await live.acquire('acme', 2)).lease).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1_000)); // > leaseMs; the live lease was renewed meanwhile
    expect(await live.inFlight('acme')).toBe(1);
    const again = await live.acquire('acme', 2);
    expect(again.lease).toBeDefined();
    again.lease?.release();
    kept.lease?.release();
  });
});
