/**
 * Batches run by a whole gateway (embedded database, embedded engine): items go through the same
 * pipeline as live requests (the request log, spend), dead letters are handled through the admin
 * API, and a live request beside a running batch is not held up by it. The batch is made in the
 * database as validation leaves it (the files/batches HTTP API is tested on its own).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../src/spend/money.js';
import { ADMIN_KEY, admin } from './helpers/admin.js';
import { batchRow, configKeyId, insertBatch, insertDeadLetter, itemRows, waitForBatch, waitUntil } from './helpers/batch-runs.js';
import { createTestDatabase, sharedPostgresAvailable } from './helpers/postgres.js';
import { openStore } from '../src/control/store/open-store.js';
import type { ControlStore } from '../src/control/store/store.js';
import { chat, chatBody, deploymentFor, KEY, metric, startHarness, type Harness } from './helpers/harness.js';

const keyId = configKeyId(KEY);
const body = (model: string, text = 'hi') => ({ model, max_tokens: 2, messages: [{ role: 'user', content: text }] });

describe('batches through the gateway (embedded)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'ok done' } }],
      env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
      config: (f) => ({
        // One upstream try per run: the batch's own retries are what is looked at.
        retry: { maxAttempts: 1 },
        deployments: { d: deploymentFor(f[0]!, { maxConnections: 8 }) },
        models: {
          m: { targets: [{ deployment: 'd', model: 'up', price: { input: 200, output: 300 } }] },
          secret: { targets: [{ deployment: 'd', model: 'up' }] },
        },
        tenants: { main: { keys: [KEY], models: ['m'] } },
        admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
        state: { database: { dataDir: ':memory:' } },
        requestLog: { flushMs: 100 },
        batches: { concurrency: 2, maxAttempts: 3, retryBackoffMs: 20, leaseMs: 1_000 },
      }),
    });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  const db = () => {
    const d = h.gateway.controlDb;
    if (!d) throw new Error('no control plane database');
    return d;
  };

  it('a batch of successes, a retried item and items no retry can fix: the spend of its key is the sum of its items; dead letters listed, paged, replayed and dropped', async () => {
    h.fakes[0]!.enqueue({ kind: 'delay', ms: 0 }, { kind: 'status', status: 503 });
    const id = await insertBatch(db(), { team: 'main', keyId, bodies: [body('m', 'a'), body('m', 'b'), body('secret'), body('m', 'c'), body('secret')] });
    const b = await waitForBatch(db(), id, ['completed']);
    const items = await itemRows(db(), id);
    expect(items.map((i) => i.state)).toEqual(['succeeded', 'succeeded', 'failed', 'succeeded', 'failed']);
    expect(items.some((i) => i.attempts === 2)).toBe(true);
    const sum = items.reduce((s, i) => s + (i.costPico ?? 0n), 0n);
    expect(sum).toBeGreaterThan(0n);
    expect(b.costPico).toBe(sum);
    // Runs by outcome: three successes, one retry, two dead letters.
    expect(await metric(h.url, 'gateway_batch_items_total', { outcome: 'succeeded' })).toBe(3);
    expect(await metric(h.url, 'gateway_batch_items_total', { outcome: 'retry' })).toBe(1);
    expect(await metric(h.url, 'gateway_batch_items_total', { outcome: 'failed' })).toBe(2);

    // The key's spend in the request log (every run, the failed ones included) is the items' sum.
    let spent = -1n;
    await waitUntil(async () => {
      const res = await admin(h.url, 'GET', `/spend?team=main&group_by=key`);
      const row = (res.body?.data ?? []).find((r: { keyId: string }) => r.keyId === keyId);
      spent = row ? usdToPico(row.cost_usd) : -1n;
      return spent === sum;
    }, 10_000, `the key's spend to reach ${sum} (last ${spent})`);

    // The dead-letter list: the two forbidden items, newest first, one per page.
    const first = await admin(h.url, 'GET', `/dead-letters?batch=${id}&limit=1`);
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(1);
    expect(first.body.nextCursor).not.toBeNull();
    const second = await admin(h.url, 'GET', `/dead-letters?batch=${id}&limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(second.body.data).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    const lines = [first.body.data[0].line, second.body.data[0].line].sort();
    expect(lines).toEqual([2, 4]);
    expect(first.body.data[0]).toMatchObject({ object: 'batch.dead_letter', batchId: id, team: 'main', keyId, statusCode: 403, error: { error: { code: 'model_not_allowed' } } });

    const one = await admin(h.url, 'GET', `/dead-letters/${id}/2`);
    expect(one.body).toMatchObject({ line: 2, customId: 'req-2', attempts: 1 });
    expect((await admin(h.url, 'GET', `/dead-letters/${id}/0`)).status).toBe(404);
    expect((await admin(h.url, 'GET', `/dead-letters/${id}/x`)).status).toBe(404);

    // Replay: it runs again (and, still forbidden, fails again: back on the list with a new request id).
    const replayed = await admin(h.url, 'POST', `/dead-letters/${id}/2/replay`);
    expect(replayed.status).toBe(202);
    await waitUntil(async () => (await itemRows(db(), id))[2]!.requestId !== one.body.requestId && (await itemRows(db(), id))[2]!.state === 'failed', 10_000, 'the replayed item to end');
    expect((await waitForBatch(db(), id, ['completed'])).failed).toBe(2);
    expect((await admin(h.url, 'GET', `/dead-letters/${id}/2`)).status).toBe(200);

    // Drop: off the list, still a failed item (in the error file).
    expect((await admin(h.url, 'DELETE', `/dead-letters/${id}/4`)).status).toBe(200);
    expect((await admin(h.url, 'GET', `/dead-letters/${id}/4`)).status).toBe(404);
    expect((await itemRows(db(), id))[4]).toMatchObject({ state: 'failed', deadLetteredAt: null });
    // Past its batch's window an item can no longer run: a replay is refused, the item stays listed.
    const late = await insertDeadLetter(db(), 'main', keyId, new Date(Date.now() - 1_000));
    const refused = await admin(h.url, 'POST', `/dead-letters/${late.batchId}/${late.line}/replay`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('resource_conflict');
    expect((await admin(h.url, 'GET', `/dead-letters/${late.batchId}/${late.line}`)).status).toBe(200);
    const audit = await admin(h.url, 'GET', '/audit?limit=20');
    expect(audit.body.data.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['batch.dead_letter.replayed', 'batch.dead_letter.dropped']));
  });

  it('a live request beside a running batch is not held up by more than one item', async () => {
    const fake = h.fakes[0]!;
    fake.setBehaviour({ latencyMs: 150 });
    try {
      const id = await insertBatch(db(), { team: 'main', keyId, bodies: Array.from({ length: 12 }, (_, i) => body('m', `bulk ${i}`)) });
      await waitUntil(async () => (await itemRows(db(), id)).some((i) => i.state === 'running'), 5_000, 'the batch to run');
      const started = performance.now();
      const res = await chat(h.url, chatBody('m'));
      const took = performance.now() - started;
      expect(res.status).toBe(200);
      // One upstream call (150 ms) plus at most one item's service time.
      expect(took).toBeLessThan(150 + 150 + 250);
      await waitForBatch(db(), id, ['completed'], 20_000);
    } finally {
      fake.setBehaviour({ latencyMs: 0 });
    }
  });
});

describe.skipIf(!(await sharedPostgresAvailable()))('batches and a gateway shutdown (PostgreSQL)', () => {
  it('running items do not outlive the drain: after the grace they are stopped and back on the queue, their runs not counted', async () => {
    const database = await createTestDatabase('batch_drain');
    let h: Harness | undefined;
    let store: ControlStore | undefined;
    try {
      h = await startHarness({
        fakes: [{ dialect: 'openai', behaviour: { latencyMs: 5_000 } }],
        config: (f) => ({
          server: { drainDelayMs: 0, shutdownGraceMs: 300 },
          deployments: { d: deploymentFor(f[0]!) },
          models: { m: { targets: [{ deployment: 'd', model: 'up' }] } },
          tenants: { main: { keys: [KEY], models: ['m'] } },
          state: { database: { url: database.url } },
          batches: { concurrency: 2, leaseMs: 30_000 },
        }),
      });
      ({ store } = await openStore({ dataDir: ':memory:', poolSize: 2, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000, url: database.url }, () => undefined));
      const db = store.db;
      const id = await insertBatch(db, { team: 'main', keyId, bodies: [body('m'), body('m'), body('m')] });
      await waitUntil(async () => (await itemRows(db, id)).filter((i) => i.state === 'running').length === 2, 10_000, 'two items to run');
      const started = performance.now();
      await h.gateway.shutdown();
      // The grace, then the stopped items put themselves back: not the upstream's 5 s.
      expect(performance.now() - started).toBeLessThan(4_000);
      const items = await itemRows(db, id);
      expect(items.map((i) => [i.state, i.attempts, i.claimedBy])).toEqual([
        ['queued', 0, null],
        ['queued', 0, null],
        ['queued', 0, null],
      ]);
      expect(await batchRow(db, id)).toMatchObject({ status: 'in_progress', completed: 0, failed: 0, pending: 3 });
    } finally {
      await h?.close();
      await store?.close();
      await database.drop();
    }
  }, 60_000);
});
