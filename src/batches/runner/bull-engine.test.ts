import { and, eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configKeyId, insertBatch, insertItems, itemRows, RUNNER_KEY, startRunnerWorld, waitForBatch, type RunnerWorld } from '../../../test/helpers/batch-runs.js';
import { sharedPostgresAvailable } from '../../../test/helpers/postgres.js';
import { adminClient, freePort, redisSettings, SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from '../../../test/helpers/redis.js';
import { systemClock } from '../../clock.js';
import { batches, batchItems } from '../../control/store/schema.js';
import { recordItemResult, replayItem } from '../item-results.js';
import { BullBatchEngine } from './bull-engine.js';
import type { EngineDeps } from './embedded-engine.js';

const keyId = configKeyId(RUNNER_KEY);
const redisUp = await sharedRedisAvailable();
const pgAvailable = await sharedPostgresAvailable();
const chat = (model: string, text = 'hi') => ({ model, messages: [{ role: 'user', content: text }] });

describe.each([
  ['embedded (PGlite)', false],
  ['postgres server', true],
] as const)('BullMQ batch engine: %s', (_label, server) => {
  const skip = !redisUp || (server && !pgAvailable);
  let world: RunnerWorld;
  const engines: BullBatchEngine[] = [];
  const prefixes: string[] = [];
  const validated: string[] = [];

  beforeAll(async () => {
    if (skip) return;
    world = await startRunnerWorld(server);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    world?.fake.reset();
    validated.length = 0;
  });

  afterAll(async () => {
    await world?.close();
    if (skip) return;
    const redis = adminClient();
    for (const p of prefixes) {
      const keys = await redis.keys(`{${p}batches}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });

  const settings = { maxFileBytes: 1 << 20, maxLines: 1_000, concurrency: 2, concurrencyWhileBusy: 1, maxAttempts: 3, retryBackoffMs: 20, leaseMs: 1_000, fileRetentionDays: 30 };
  /** An engine; engines of one test share `prefix` (replicas on one Redis). */
  function engine(prefix: string, over: Partial<EngineDeps> = {}): BullBatchEngine {
    if (!prefixes.includes(prefix)) prefixes.push(prefix);
    const e = new BullBatchEngine({
      db: () => world.store.db,
      ready: () => true,
      validate: async (batchId) => {
        // The test's stand-in for validateBatch: a batch made `validating` with its items already in.
        // Counted when it validates, as validateBatch skips one already validated: a sweep may hand
        // the same batch to a second, idempotent run (on a loaded machine it did, once).
        const moved = await world.store.db.update(batches).set({ status: 'in_progress' }).where(and(eq(batches.id, batchId), eq(batches.status, 'validating'))).returning({ id: batches.id });
        if (moved.length > 0) validated.push(batchId);
      },
      owner: `bull-${engines.length}`,
      settings,
      clock: systemClock,
      acquire: () => world.holder.acquire(),
      random: () => 0.5,
      logger: pino({ level: 'silent' }),
      graceMs: 2_000,
      redis: redisSettings(SHARED_REDIS_URL, { keyPrefix: prefix }),
      ...over,
    });
    engines.push(e);
    e.start();
    return e;
  }

  /** A batch made `validating` with its items in (as validateBatch would leave them, but for the status). */
  async function validatingBatch(bodies: readonly unknown[]): Promise<string> {
    const id = await insertBatch(world.store.db, { team: 'main', keyId, bodies: [], status: 'validating' });
    await insertItems(world.store.db, id, bodies);
    await world.store.db.update(batches).set({ total: bodies.length, pending: bodies.length }).where(eq(batches.id, id));
    return id;
  }

  it.skipIf(skip)('submit: a validate job, then a job per item; a failure a retry may fix runs again, one it cannot is dead-lettered', async () => {
    const prefix = uniquePrefix('bullbatch');
    const e = engine(prefix);
    world.fake.enqueue({ kind: 'status', status: 500 });
    const id = await validatingBatch([chat('m', 'zero'), chat('secret'), chat('m', 'two')]);
    await e.submit(id);
    const b = await waitForBatch(world.store.db, id, ['completed']);
    expect(validated).toEqual([id]);
    const items = await itemRows(world.store.db, id);
    expect(items.map((i) => [i.state, i.statusCode])).toEqual([
      ['succeeded', 200],
      ['failed', 403],
      ['succeeded', 200],
    ]);
    // One of the two `m` items met the 500 and ran twice.
    expect(items.map((i) => i.attempts).sort()).toEqual([1, 1, 2]);
    expect(b.costPico).toBe(items.reduce((s, i) => s + (i.costPico ?? 0n), 0n));
  });

  it.skipIf(skip)("the item worker's concurrency follows concurrencyNow(): one at a time while live requests are in flight, all its slots after", async () => {
    const prefix = uniquePrefix('bullbatch');
    let live = true;
    for (let i = 0; i < 16; i++) world.fake.enqueue({ kind: 'delay', ms: 80 });
    const id = await insertBatch(world.store.db, { team: 'main', keyId, bodies: Array.from({ length: 16 }, (_, i) => chat('m', `item ${i}`)) });
    const before = { requests: world.fake.stats.requests, completed: world.fake.stats.completed };
    const maxInFlight = async (until: () => Promise<boolean>): Promise<number> => {
      let max = 0;
      while (!(await until())) {
        max = Math.max(max, world.fake.stats.requests - before.requests - (world.fake.stats.completed - before.completed));
        await new Promise((r) => setTimeout(r, 5));
      }
      return max;
    };
    engine(prefix, { concurrencyNow: () => (live ? 1 : 2) });
    const done = async (n: number): Promise<boolean> => (await itemRows(world.store.db, id)).filter((r) => r.state === 'succeeded').length >= n;
    expect(await maxInFlight(() => done(3))).toBe(1);
    live = false;
    // 13 items left, 80 ms each: the worker sees the change (every 250 ms) long before they are done.
    expect(await maxInFlight(() => done(16))).toBe(2);
  });

  it.skipIf(skip)('the sweeper adds jobs for items the database says are waiting with none (a replica died before enqueueing)', async () => {
    const prefix = uniquePrefix('bullbatch');
    const id = await insertBatch(world.store.db, { team: 'main', keyId, bodies: [chat('m'), chat('m')] });
    engine(prefix);
    const b = await waitForBatch(world.store.db, id, ['completed'], 10_000);
    expect(b).toMatchObject({ completed: 2, failed: 0 });
    expect(validated).toEqual([]);
  });

  it.skipIf(skip)('a job for an item already ended does nothing; a replayed dead letter runs again through requeue', async () => {
    const prefix = uniquePrefix('bullbatch');
    const id = await insertBatch(world.store.db, { team: 'main', keyId, bodies: [chat('m')] });
    const now = new Date();
    await recordItemResult(world.store.db, id, 0, { kind: 'error', code: 'x', message: 'failed before' }, { now, retentionDays: 30 });
    const e = engine(prefix);
    await e.requeue(id, 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(world.fake.stats.requests).toBe(0);
    expect(await replayItem(world.store.db, id, 0)).toBe(true);
    await e.requeue(id, 0);
    await waitForBatch(world.store.db, id, ['completed']);
    const [item] = await itemRows(world.store.db, id);
    expect(item).toMatchObject({ state: 'succeeded', statusCode: 200, deadLetteredAt: null });
  });

  it.skipIf(skip)('with Redis unreachable, submit and close end in bounded time; the batch waits in the database and runs once a replica reaches Redis', async () => {
    const dead = new BullBatchEngine({
      db: () => world.store.db,
      ready: () => true,
      validate: async () => undefined,
      owner: 'no-redis',
      settings,
      clock: systemClock,
      acquire: () => world.holder.acquire(),
      random: () => 0.5,
      logger: pino({ level: 'silent' }),
      graceMs: 500,
      redis: redisSettings(`redis://127.0.0.1:${await freePort()}`, { keyPrefix: uniquePrefix('bulldead'), connectTimeoutMs: 200 }),
    });
    dead.start();
    const id = await validatingBatch([chat('m')]);
    let t = performance.now();
    await dead.submit(id);
    expect(performance.now() - t).toBeLessThan(10_000);
    t = performance.now();
    await dead.close();
    // The grace (500 ms), then BullMQ's closing steps, each bounded.
    expect(performance.now() - t).toBeLessThan(5_000);
    expect((await itemRows(world.store.db, id))[0]!.state).toBe('queued');
    // A replica with Redis: its sweep re-submits the batch left validating, then runs it.
    engine(uniquePrefix('bullbatch'));
    await waitForBatch(world.store.db, id, ['completed'], 10_000);
    expect(validated).toEqual([id]);
  }, 40_000);

  it.skipIf(skip)('replicas on one Redis share the items: each runs once; one closed mid-run gives its items back', async () => {
    const prefix = uniquePrefix('bullbatch');
    world.fake.setBehaviour({ latencyMs: 30 });
    const n = 30;
    const before = world.fake.stats.requests;
    const a = engine(prefix, { graceMs: 0 });
    engine(prefix);
    const id = await validatingBatch(Array.from({ length: n }, (_, i) => chat('m', `item ${i}`)));
    await a.submit(id);
    // `a` stops at once: its running items are aborted and go back to the queue, uncounted.
    await new Promise((r) => setTimeout(r, 150));
    await a.close();
    const b = await waitForBatch(world.store.db, id, ['completed'], 20_000);
    expect(b).toMatchObject({ completed: n, failed: 0 });
    const items = await itemRows(world.store.db, id);
    expect(items.every((i) => i.attempts === 1)).toBe(true);
    const ran = world.fake.stats.requests - before;
    // Each item's result came from exactly one run; an aborted run may have reached the upstream too.
    expect(ran).toBeGreaterThanOrEqual(n);
    expect(ran).toBeLessThanOrEqual(n + settings.concurrency);
    const rows = await world.store.db.select().from(batchItems).where(eq(batchItems.batchId, id));
    expect(new Set(rows.map((r) => r.requestId)).size).toBe(n);
  });
});
