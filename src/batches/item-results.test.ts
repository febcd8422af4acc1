import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, sharedPostgresAvailable } from '../../test/helpers/postgres.js';
import { openStore } from '../control/store/open-store.js';
import { batches, batchItems, files } from '../control/store/schema.js';
import type { ControlStore } from '../control/store/store.js';
import { newBatchId } from './ids.js';
import { endUnstarted, recordItemResult, replayItem } from './item-results.js';

const settings = { dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 };
const pgAvailable = await sharedPostgresAvailable();
const options = { now: new Date('2026-12-05T10:00:00Z'), retentionDays: 30 };

describe.each([
  ['embedded (PGlite)', false],
  ['postgres server', true],
] as const)('batch item results: %s', (_label, server) => {
  let store: ControlStore;
  let drop: (() => Promise<void>) | undefined;
  let batchId: string;

  beforeAll(async () => {
    if (server && !pgAvailable) return;
    const url = server ? await createTestDatabase('batchitems').then((d) => ((drop = d.drop), d.url)) : undefined;
    ({ store } = await openStore({ ...settings, url }, () => undefined));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  /** A batch of `n` queued items, in progress. */
  beforeEach(async () => {
    if (!store) return;
    batchId = newBatchId();
    const n = 3;
    await store.db.insert(batches).values({
      id: batchId, team: 't', keyId: 'key_1', endpoint: '/v1/chat/completions', inputFileId: 'file-x', completionWindow: '24h', status: 'in_progress',
      total: n, completed: 0, failed: 0, pending: n, costPico: 0n, createdAt: options.now, expiresAt: new Date(options.now.getTime() + 86_400_000),
    });
    await store.db.insert(batchItems).values(Array.from({ length: n }, (_, line) => ({ batchId, line, customId: `c${line}`, body: {}, state: 'queued' as const, attempts: 0 })));
  });

  const ok = (cost: bigint) => ({ kind: 'response', statusCode: 200, requestId: 'req', body: { ok: true }, costPico: cost }) as const;
  const batch = async () => (await store.db.select().from(batches).where(eq(batches.id, batchId)))[0]!;

  it.skipIf(server && !pgAvailable)('writes each result once, however many runs report it', async () => {
    const writes = await Promise.all([recordItemResult(store.db, batchId, 0, ok(5n), options), recordItemResult(store.db, batchId, 0, ok(7n), options), recordItemResult(store.db, batchId, 0, ok(9n), options)]);
    expect(writes.filter(Boolean)).toHaveLength(1);
    const b = await batch();
    expect(b).toMatchObject({ completed: 1, failed: 0, pending: 2, status: 'in_progress' });
    expect([5n, 7n, 9n]).toContain(b.costPico);
  });

  it.skipIf(server && !pgAvailable)('ends the batch with its last item: output and error files, failures dead-lettered', async () => {
    await recordItemResult(store.db, batchId, 0, ok(5n), options);
    await recordItemResult(store.db, batchId, 1, { kind: 'response', statusCode: 400, requestId: 'r', body: { error: {} }, costPico: null }, options);
    expect((await batch()).status).toBe('in_progress');
    await recordItemResult(store.db, batchId, 2, { kind: 'error', code: 'x', message: 'y' }, options);
    const b = await batch();
    expect(b).toMatchObject({ status: 'completed', completed: 1, failed: 2, pending: 0, costPico: 5n });
    expect(b.outputFileId).toMatch(/^file-/);
    expect(b.errorFileId).toMatch(/^file-/);
    const made = await store.db.select().from(files).where(eq(files.batchId, batchId));
    expect(made.map((f) => f.purpose).sort()).toEqual(['batch_error', 'batch_output']);
    const dead = (await store.db.select().from(batchItems).where(eq(batchItems.batchId, batchId))).filter((i) => i.deadLetteredAt !== null);
    expect(dead.map((i) => i.line).sort()).toEqual([1, 2]);
  });

  it.skipIf(server && !pgAvailable)('a replayed dead letter runs again, and the batch keeps its files', async () => {
    await recordItemResult(store.db, batchId, 0, ok(1n), options);
    await recordItemResult(store.db, batchId, 1, ok(1n), options);
    await recordItemResult(store.db, batchId, 2, { kind: 'response', statusCode: 500, requestId: 'r', body: { error: {} }, costPico: 4n }, options);
    const before = await batch();
    expect(before.costPico).toBe(6n);
    expect(await replayItem(store.db, batchId, 2)).toBe(true);
    expect(await replayItem(store.db, batchId, 2)).toBe(false);
    expect(await batch()).toMatchObject({ status: 'in_progress', failed: 0, pending: 1, completedAt: null });
    await recordItemResult(store.db, batchId, 2, ok(1n), options);
    const after = await batch();
    expect(after).toMatchObject({ status: 'completed', completed: 3, failed: 0, costPico: 3n, outputFileId: before.outputFileId, errorFileId: before.errorFileId });
    expect(await store.db.select().from(files).where(eq(files.batchId, batchId))).toHaveLength(2);
  });

  it.skipIf(server && !pgAvailable)('a cancel ends the unstarted items; the running one ends the batch when it finishes', async () => {
    await store.db.update(batchItems).set({ state: 'running' }).where(eq(batchItems.line, 0));
    await store.db.update(batches).set({ status: 'cancelling' }).where(eq(batches.id, batchId));
    expect(await endUnstarted(store.db, batchId, 'cancelled', options)).toBe(2);
    expect((await batch()).status).toBe('cancelling');
    await recordItemResult(store.db, batchId, 0, ok(3n), options);
    expect(await batch()).toMatchObject({ status: 'cancelled', completed: 1, failed: 0, pending: 0 });
    expect((await batch()).errorFileId).toMatch(/^file-/);
  });

  it.skipIf(server && !pgAvailable)('a batch past its window ends as expired', async () => {
    await store.db.update(batches).set({ expiresAt: new Date(options.now.getTime() - 1) }).where(eq(batches.id, batchId));
    await recordItemResult(store.db, batchId, 0, ok(1n), options);
    expect(await endUnstarted(store.db, batchId, 'expired', options)).toBe(2);
    expect(await batch()).toMatchObject({ status: 'expired', completed: 1, pending: 0 });
  });
});
