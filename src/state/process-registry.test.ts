import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { redisSettings, SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from '../../test/helpers/redis.js';
import { ProcessRegistry } from './process-registry.js';
import { RedisConnection } from './redis-connection.js';

const available = await sharedRedisAvailable();

describe.skipIf(!available)('ProcessRegistry: the local share divides by every live process on the Redis', () => {
  const settings = redisSettings(SHARED_REDIS_URL, { keyPrefix: uniquePrefix('procs') });
  const conns = [0, 1, 2].map(() => new RedisConnection(settings, systemClock));
  afterAll(async () => Promise.all(conns.map((c) => c.close())));

  it('three processes heartbeat: each counts 3; one leaves: the others count 2; expectedReplicas is a floor', async () => {
    for (const c of conns) expect(await c.waitReady(5_000)).toBe(true);
    const registries = conns.map((c) => new ProcessRegistry(c, 1));
    expect(registries[0]?.processes()).toBe(1);
    const floored = new ProcessRegistry(conns[0] as RedisConnection, 5);
    for (const r of registries) await r.start();
    await registries[0]?.beat();
    expect(registries[0]?.processes()).toBe(3);
    await registries[2]?.close();
    await registries[0]?.beat();
    expect(registries[0]?.processes()).toBe(2);
    await floored.beat();
    expect(floored.processes()).toBe(5);
    await Promise.all([...registries, floored].map((r) => r.close()));
  });
});
