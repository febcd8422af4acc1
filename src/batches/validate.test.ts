import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, sharedPostgresAvailable } from '../../test/helpers/postgres.js';
import { openStore } from '../control/store/open-store.js';
import { batches, batchItems, files } from '../control/store/schema.js';
import type { ControlStore } from '../control/store/store.js';
import { newBatchId, newFileId } from './ids.js';
import { endUnstarted } from './item-results.js';
import { validateBatch } from './validate.js';

const settings = { dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 };
const pgAvailable = await sharedPostgresAvailable();
const now = new Date('2026-12-05T10:00:00Z');

const line = (customId: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content: `hi ${customId}` }] }, ...extra });

describe.each([
  ['embedded (PGlite)', false],
  ['postgres server', true],
] as const)('validateBatch: %s', (_label, server) => {
  let store: ControlStore;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (server && !pgAvailable) return;
    const url = server ? await createTestDatabase('batchvalidate').then((d) => ((drop = d.drop), d.url)) : undefined;
    ({ store } = await openStore({ ...settings, url }, () => undefined));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  /** An uploaded file with `text` and a batch on it, validating. */
  async function batchOf(text: string, endpoint = '/v1/chat/completions'): Promise<string> {
    const fileId = newFileId();
    const content = Buffer.from(text);
    await store.db.insert(files).values({ id: fileId, team: 't', purpose: 'batch', filename: 'in.jsonl', bytes: content.length, content, createdBy: 'key_1', createdAt: now });
    const batchId = newBatchId();
    await store.db.insert(batches).values({
      id: batchId, team: 't', keyId: 'key_1', endpoint, inputFileId: fileId, completionWindow: '24h', status: 'validating',
      total: 0, completed: 0, failed: 0, pending: 0, costPico: 0n, createdAt: now, expiresAt: new Date(now.getTime() + 86_400_000),
    });
    return batchId;
  }
  const batch = async (id: string) => (await store.db.select().from(batches).where(eq(batches.id, id)))[0]!;
  const items = (id: string) => store.db.select().from(batchItems).where(eq(batchItems.batchId, id)).orderBy(asc(batchItems.line));

  it.skipIf(server && !pgAvailable)('writes one item per line (blank lines skipped, CRLF and no final newline accepted); a second run changes nothing', async () => {
    const id = await batchOf(`${line('a')}\r\n\n${line('b')}\n${line('c')}`);
    expect(await validateBatch(store.db, id, { maxLines: 10, now })).toBe('in_progress');
    expect(await batch(id)).toMatchObject({ status: 'in_progress', total: 3, pending: 3, completed: 0, failed: 0, inProgressAt: now });
    const rows = await items(id);
    expect(rows.map((r) => [r.line, r.customId, r.state])).toEqual([[0, 'a', 'queued'], [2, 'b', 'queued'], [3, 'c', 'queued']]);
    expect(rows[1]!.body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'hi b' }] });
    expect(await validateBatch(store.db, id, { maxLines: 10, now })).toBe('skipped');
    expect(await items(id)).toHaveLength(3);
    expect((await batch(id)).total).toBe(3);
  });

  it.skipIf(server && !pgAvailable)('a crash after some items were written: the next run completes them without duplicates', async () => {
    const id = await batchOf([line('a'), line('b'), line('c')].join('\n'));
    await store.db.insert(batchItems).values({ batchId: id, line: 0, customId: 'a', body: {}, state: 'queued', attempts: 0 });
    expect(await validateBatch(store.db, id, { maxLines: 10, now })).toBe('in_progress');
    expect((await items(id)).map((r) => r.customId)).toEqual(['a', 'b', 'c']);
    expect((await batch(id)).pending).toBe(3);
  });

  it.skipIf(server && !pgAvailable)('fails the batch with OpenAI-shaped errors naming each bad line, and writes no item', async () => {
    const lines = [
      line('ok'),
      line('ok'),
      line('m', { method: 'GET' }),
      line('u', { url: '/v1/embeddings' }),
      JSON.stringify({ custom_id: 'nomodel', method: 'POST', url: '/v1/chat/completions', body: { messages: [] } }),
      line('s', { body: { model: 'm', stream: true } }),
      '{not json',
    ];
    const id = await batchOf(lines.join('\n'));
    expect(await validateBatch(store.db, id, { maxLines: 10, now })).toBe('failed');
    const b = await batch(id);
    expect(b).toMatchObject({ status: 'failed', failedAt: now, total: 0 });
    const errors = (b.errors as { object: string; data: Array<{ code: string; line: number; param: string | null }> });
    expect(errors.object).toBe('list');
    expect(errors.data.map((e) => [e.line, e.code])).toEqual([
      [2, 'duplicate_custom_id'],
      [3, 'invalid_method'],
      [4, 'mismatched_endpoint'],
      [5, 'missing_required_parameter'],
      [6, 'invalid_request'],
      [7, 'invalid_json_line'],
    ]);
    expect(await items(id)).toHaveLength(0);
  });

  it.skipIf(server && !pgAvailable)('more lines than batches.maxLines, a line longer than the limit, an empty file, a deleted input file: failed', async () => {
    const many = await batchOf([line('a'), line('b'), line('c')].join('\n'));
    expect(await validateBatch(store.db, many, { maxLines: 2, now })).toBe('failed');
    expect((await batch(many)).errors).toMatchObject({ data: [{ code: 'too_many_requests', line: 3 }] });

    const long = await batchOf(`${line('a')}\n${line('b', { pad: 'x'.repeat(2_000) })}\n${line('c')}`);
    expect(await validateBatch(store.db, long, { maxLines: 10, maxLineBytes: 1_000, now })).toBe('failed');
    expect((await batch(long)).errors).toMatchObject({ data: [{ code: 'line_too_long', line: 2 }] });

    const empty = await batchOf('\n\n');
    expect(await validateBatch(store.db, empty, { maxLines: 10, now })).toBe('failed');
    expect((await batch(empty)).errors).toMatchObject({ data: [{ code: 'empty_file' }] });

    const orphan = await batchOf(line('a'));
    await store.db.delete(files).where(eq(files.id, (await batch(orphan)).inputFileId));
    expect(await validateBatch(store.db, orphan, { maxLines: 10, now })).toBe('failed');
    expect((await batch(orphan)).errors).toMatchObject({ data: [{ code: 'invalid_file', param: 'input_file_id' }] });
  });

  it.skipIf(server && !pgAvailable)('a batch cancelled before validation ends has no items left to run', async () => {
    const id = await batchOf([line('a'), line('b')].join('\n'));
    // Validation wrote its items, then the cancel came before it could count them.
    await store.db.insert(batchItems).values([{ batchId: id, line: 0, customId: 'a', body: {}, state: 'queued', attempts: 0 }]);
    await store.db.update(batches).set({ status: 'cancelled' }).where(eq(batches.id, id));
    expect(await validateBatch(store.db, id, { maxLines: 10, now })).toBe('skipped');
    expect(await items(id)).toHaveLength(0);
    expect(await endUnstarted(store.db, id, 'cancelled', { now, retentionDays: 1 })).toBe(0);
    expect((await batch(id)).pending).toBe(0);
  });

  it.skipIf(server && !pgAvailable)('reads a file larger than one page (lines across page boundaries)', async () => {
    // 3,000 lines of ~400 bytes: 1.2 MB, more than one page of stored bytes.
    const text = Array.from({ length: 3_000 }, (_, i) => line(`id-${i}`, { body: { model: 'm', input: 'y'.repeat(300 + (i % 7)) } })).join('\n');
    const id = await batchOf(text);
    expect(await validateBatch(store.db, id, { maxLines: 50_000, now })).toBe('in_progress');
    const rows = await items(id);
    expect(rows).toHaveLength(3_000);
    expect(new Set(rows.map((r) => r.customId)).size).toBe(3_000);
    expect(rows[2_999]).toMatchObject({ line: 2_999, customId: 'id-2999' });
  }, 60_000);
});
