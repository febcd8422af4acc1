import { and, eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batchRow, configKeyId, insertBatch, itemRows, LIMITED_KEY, RUNNER_KEY, startRunnerWorld, waitForBatch, waitUntil, type RunnerWorld } from '../../../test/helpers/batch-runs.js';
import { sharedPostgresAvailable } from '../../../test/helpers/postgres.js';
import { systemClock } from '../../clock.js';
import { batches, batchItems, requestLog } from '../../control/store/schema.js';
import { ensurePartitions } from '../../control/ledger/write.js';
import { newRequestId, requestIdTime } from '../../http/request-id.js';
import type { ControlStore } from '../../control/store/store.js';
import type { FakeUpstream } from '../../testing/fake-upstream/fake-upstream.js';
import { endUnstarted } from '../item-results.js';
import { EmbeddedBatchEngine, type EngineDeps } from './embedded-engine.js';
import type { StepOutcome } from './item-step.js';

const keyId = configKeyId(RUNNER_KEY);
const pgAvailable = await sharedPostgresAvailable();
const chat = (model: string, text = 'hi') => ({ model, messages: [{ role: 'user', content: text }] });

describe.each([
  ['embedded (PGlite)', false],
  ['postgres server', true],
] as const)('embedded batch engine: %s', (_label, server) => {
  const skip = server && !pgAvailable;
  let world: RunnerWorld;
  let store: ControlStore;
  let fake: FakeUpstream;
  let finished: RunnerWorld['finished'];
  const engines: EmbeddedBatchEngine[] = [];
  const runs: StepOutcome[] = [];

  beforeAll(async () => {
    if (skip) return;
    world = await startRunnerWorld(server);
    ({ store, fake, finished } = world);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    fake?.reset();
    runs.length = 0;
  });

  afterAll(async () => {
    await world?.close();
  });

  const settings = { maxFileBytes: 1 << 20, maxLines: 1_000, concurrency: 1, concurrencyWhileBusy: 1, maxAttempts: 3, retryBackoffMs: 20, leaseMs: 1_000, fileRetentionDays: 30 };
  function engine(over: Partial<EngineDeps> = {}): EmbeddedBatchEngine {
    const e = new EmbeddedBatchEngine({
      db: () => store.db,
      ready: () => true,
      validate: async () => undefined,
      owner: `test-${engines.length}`,
      settings,
      clock: systemClock,
      acquire: () => world.holder.acquire(),
      random: () => 0.5,
      logger: pino({ level: 'silent' }),
      metrics: { batchItemRun: (e) => runs.push(e.outcome) },
      graceMs: 2_000,
      pollMs: 50,
      ...over,
    });
    engines.push(e);
    return e;
  }

  it.skipIf(skip)('runs every item once: a success, one that fails then succeeds, one no retry can fix (dead-lettered at once); the batch costs what its items cost', async () => {
    // Lines run in order (concurrency 1): line 1's first run meets the 500, its second succeeds.
    const id = await insertBatch(store.db, { team: 'main', keyId, bodies: [chat('m', 'zero'), chat('m', 'one'), chat('secret')] });
    fake.enqueue({ kind: 'delay', ms: 0 }, { kind: 'status', status: 500 });
    engine().start();
    const b = await waitForBatch(store.db, id, ['completed']);
    const items = await itemRows(store.db, id);
    expect(items.map((i) => [i.state, i.statusCode, i.attempts, i.deadLetteredAt !== null])).toEqual([
      ['succeeded', 200, 1, false],
      ['succeeded', 200, 2, false],
      ['failed', 403, 1, true],
    ]);
    expect(items[2]!.response).toMatchObject({ error: { code: 'model_not_allowed' } });
    expect(items[0]!.response).toMatchObject({ object: 'chat.completion' });
    // Every run went through the pipeline as the batch's key; the item's request id is its last run's.
    expect(finished.filter((f) => f.requestId === items[1]!.requestId)).toHaveLength(1);
    expect(finished.every((f) => f.keyId === keyId)).toBe(true);
    const sum = items.reduce((s, i) => s + (i.costPico ?? 0n), 0n);
    expect(sum).toBeGreaterThan(0n);
    expect(b.costPico).toBe(sum);
    expect(b).toMatchObject({ completed: 2, failed: 1, pending: 0 });
    expect(runs.sort()).toEqual(['failed', 'retry', 'succeeded', 'succeeded']);
  });

  it.skipIf(skip)("runs the gateway refused for want of capacity (its own rate limit) are no attempts: every item runs, none is dead-lettered", async () => {
    const id = await insertBatch(store.db, { team: 'limited', keyId: configKeyId(LIMITED_KEY), bodies: Array.from({ length: 8 }, (_, i) => chat('m', `item ${i}`)) });
    engine({ settings: { ...settings, concurrency: 4, maxAttempts: 1 } }).start();
    const b = await waitForBatch(store.db, id, ['completed']);
    expect(b).toMatchObject({ completed: 8, failed: 0 });
    expect(runs.filter((o) => o === 'retry').length).toBeGreaterThan(0);
  });

  it.skipIf(skip)('an item that keeps failing is dead-lettered after maxAttempts runs, with its last answer', async () => {
    const id = await insertBatch(store.db, { team: 'main', keyId, bodies: [chat('m')] });
    fake.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 503 }, { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    engine().start();
    await waitForBatch(store.db, id, ['completed']);
    const [item] = await itemRows(store.db, id);
    expect(item).toMatchObject({ state: 'failed', attempts: 3, statusCode: 502 });
    expect(item!.deadLetteredAt).not.toBeNull();
    expect(fake.queuedFaults).toBe(1);
  });

  it.skipIf(skip)('a key revoked since the batch was made: 401 for each item, not retried', async () => {
    const id = await insertBatch(store.db, { team: 'main', keyId: 'key_gone', bodies: [chat('m'), chat('m')] });
    engine().start();
    await waitForBatch(store.db, id, ['completed']);
    const items = await itemRows(store.db, id);
    expect(items.map((i) => [i.statusCode, i.attempts])).toEqual([[401, 1], [401, 1]]);
    expect(fake.stats.requests).toBe(0);
  });

  it.skipIf(skip)('cancel: unstarted items end as cancelled, the running one finishes, then the batch is cancelled', async () => {
    fake.setBehaviour({ latencyMs: 300 });
    const id = await insertBatch(store.db, { team: 'main', keyId, bodies: [chat('m'), chat('m'), chat('m')] });
    engine().start();
    await waitUntil(async () => (await itemRows(store.db, id)).some((i) => i.state === 'running'), 5_000, 'an item to run');
    // What the cancel route does.
    await store.db.update(batches).set({ status: 'cancelling', cancellingAt: new Date() }).where(eq(batches.id, id));
    await endUnstarted(store.db, id, 'cancelled', { now: new Date(), retentionDays: 30 });
    const b = await waitForBatch(store.db, id, ['cancelled']);
    expect(b).toMatchObject({ completed: 1, pending: 0 });
    expect((await itemRows(store.db, id)).map((i) => i.state)).toEqual(['succeeded', 'cancelled', 'cancelled']);
  });

  it.skipIf(skip)('a batch past its window: nothing more runs, its unstarted items end as expired', async () => {
    const id = await insertBatch(store.db, { team: 'main', keyId, bodies: [chat('m'), chat('m')], expiresAt: new Date(Date.now() - 1_000) });
    engine().start();
    const b = await waitForBatch(store.db, id, ['expired']);
    expect(b).toMatchObject({ completed: 0, pending: 0 });
    expect((await itemRows(store.db, id)).map((i) => i.state)).toEqual(['expired', 'expired']);
    expect(fake.stats.requests).toBe(0);
  });

  it.skipIf(skip)('a restart mid-batch resumes: a shutdown puts running items back (the run not counted); a crashed replica\'s lapsed claim is taken back', async () => {
    fake.setBehaviour({ latencyMs: 400 });
    const id = await insertBatch(store.db, { team: 'main', keyId, bodies: [chat('m'), chat('m'), chat('m')] });
    // Line 2 was held by a replica that died: its lease has lapsed.
    await store.db.update(batchItems).set({ state: 'running', claimedBy: 'dead', leaseUntil: new Date(Date.now() - 1), attempts: 1 }).where(and(eq(batchItems.batchId, id), eq(batchItems.line, 2)));
    const first = engine({ graceMs: 0 });
    first.start();
    await waitUntil(async () => (await itemRows(store.db, id)).some((i) => i.claimedBy === 'test-0'), 5_000, 'the first engine to claim');
    await first.close();
    const afterClose = await itemRows(store.db, id);
    expect(afterClose.filter((i) => i.claimedBy === 'test-0')).toEqual([]);
    expect(afterClose.filter((i) => i.state === 'succeeded' || i.state === 'failed')).toEqual([]);
    expect(runs).toContain('aborted');
    fake.setBehaviour({ latencyMs: 0 });
    engine().start();
    const b = await waitForBatch(store.db, id, ['completed']);
    expect(b).toMatchObject({ completed: 3, failed: 0 });
    const items = await itemRows(store.db, id);
    // Line 0's aborted run does not count; line 2's lost run does.
    expect(items.map((i) => i.attempts)).toEqual([1, 1, 2]);
  });

  it.skipIf(skip)("a dead replica's lost run is in its item's cost when its request-log row was written; a run's cost is settled only after the request log has its row", async () => {
    const id = await insertBatch(store.db, { team: 'main', keyId, bodies: [chat('m')] });
    // The dead replica's run reached the request log (1 µUSD) before the replica died.
    const lostRun = newRequestId(Date.now() - 5_000);
    const startedAt = new Date(requestIdTime(lostRun) as number);
    await ensurePartitions(store, [startedAt.toISOString().slice(0, 10)]);
    await store.db.insert(requestLog).values({ id: lostRun, startedAt, keyId, team: 'main', alias: 'm', operation: 'chat', stream: false, attempts: 1, status: 200, outcome: 'success', usageEstimated: false, durationMs: 5, upstreamMs: 4, detail: {}, costPico: 1_000_000 });
    await store.db.update(batchItems).set({ state: 'running', claimedBy: 'dead', leaseUntil: new Date(Date.now() - 1), attempts: 1, requestId: lostRun }).where(eq(batchItems.batchId, id));
    const order: string[] = [];
    engine({
      durable: async () => {
        const [item] = await itemRows(store.db, id);
        order.push(`flushed while ${item!.state}`);
      },
    }).start();
    const b = await waitForBatch(store.db, id, ['completed']);
    const [item] = await itemRows(store.db, id);
    const run = finished.find((f) => f.requestId === item!.requestId);
    expect(run?.costPico).toBeGreaterThan(0);
    expect(item!.costPico).toBe(1_000_000n + BigInt(run!.costPico as number));
    expect(b.costPico).toBe(item!.costPico);
    expect(item!.attempts).toBe(2);
    expect(order).toEqual(['flushed while running']);
  });

  it.skipIf(skip)('a database that fails for a while: the runner logs, keeps its loop, and finishes the batch once it answers', async () => {
    const id = await insertBatch(store.db, { team: 'main', keyId, bodies: [chat('m'), chat('m')] });
    let down = true;
    const errors: string[] = [];
    const failing = new Proxy(store.db, {
      get: (target, name, receiver) =>
        down
          ? () => {
              throw new Error('connection refused');
            }
          : Reflect.get(target, name, receiver),
    });
    engine({ db: () => failing, onError: (during) => errors.push(during) }).start();
    await waitUntil(() => errors.length >= 2, 5_000, 'failed rounds');
    expect((await itemRows(store.db, id)).map((i) => i.state)).toEqual(['queued', 'queued']);
    down = false;
    const b = await waitForBatch(store.db, id, ['completed']);
    expect(b).toMatchObject({ completed: 2, failed: 0 });
  });

  it.skipIf(skip)('validates batches left validating, on start and on submit', async () => {
    const validated: string[] = [];
    const left = await insertBatch(store.db, { team: 'main', keyId, bodies: [], status: 'validating' });
    const e = engine({ validate: async (batchId) => void validated.push(batchId) });
    e.start();
    await waitUntil(() => validated.includes(left), 5_000, 'the left batch to be validated');
    await e.submit('batch_new');
    await waitUntil(() => validated.includes('batch_new'), 5_000, 'the submitted batch to be validated');
    expect((await batchRow(store.db, left)).status).toBe('validating');
  });

  it.skipIf(skip)('runs concurrencyNow() items at once: one while live requests are in flight, all its slots when there are none', async () => {
    let live = true;
    const maxInFlight = async (until: () => Promise<boolean>): Promise<number> => {
      let max = 0;
      while (!(await until())) {
        max = Math.max(max, fake.stats.requests - fake.stats.completed);
        await new Promise((r) => setTimeout(r, 5));
      }
      return max;
    };
    for (let i = 0; i < 16; i++) fake.enqueue({ kind: 'delay', ms: 60 });
    const id = await insertBatch(store.db, { team: 'main', keyId, bodies: Array.from({ length: 16 }, (_, i) => chat('m', `item ${i}`)) });
    engine({ settings: { ...settings, concurrency: 4 }, concurrencyNow: () => (live ? 1 : 4) }).start();
    const done = async (n: number): Promise<boolean> => (await itemRows(store.db, id)).filter((r) => r.state === 'succeeded').length >= n;
    expect(await maxInFlight(() => done(4))).toBe(1);
    live = false;
    expect(await maxInFlight(() => done(16))).toBe(4);
  });

  it.skipIf(skip)('two engines on one database run each item exactly once', async () => {
    const n = 40;
    const id = await insertBatch(store.db, { team: 'main', keyId, bodies: Array.from({ length: n }, (_, i) => chat('m', `item ${i}`)) });
    const before = fake.stats.requests;
    engine({ settings: { ...settings, concurrency: 4 } }).start();
    engine({ settings: { ...settings, concurrency: 4 } }).start();
    const b = await waitForBatch(store.db, id, ['completed']);
    expect(b).toMatchObject({ completed: n, failed: 0 });
    expect(fake.stats.requests - before).toBe(n);
    const owners = new Set(finished.map((f) => f.requestId));
    expect(owners.size).toBe(finished.length);
  });
});
