/**
 * Batches made straight in the database, for runner tests (the files/batches HTTP API is tested
 * on its own): a batch in progress with one queued item per body, as validation leaves it.
 */
import { createHash } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { batches, batchItems, type BatchStatus } from '../../src/control/store/schema.js';
import type { ControlDb } from '../../src/control/store/store.js';
import { newBatchId } from '../../src/batches/ids.js';

/** The key id a config key runs under (`cfg_` and 12 hex digits of its SHA-256). */
export function configKeyId(key: string): string {
  return `cfg_${createHash('sha256').update(key, 'latin1').digest('hex').slice(0, 12)}`;
}

export interface BatchSpec {
  readonly team: string;
  readonly keyId: string;
  readonly bodies: readonly unknown[];
  readonly endpoint?: string;
  readonly status?: BatchStatus;
  /** Default one day from now. */
  readonly expiresAt?: Date;
  readonly customId?: (line: number) => string;
}

export async function insertBatch(db: ControlDb, spec: BatchSpec): Promise<string> {
  const id = newBatchId();
  const now = new Date();
  const n = spec.bodies.length;
  const status = spec.status ?? 'in_progress';
  await db.insert(batches).values({
    id,
    team: spec.team,
    keyId: spec.keyId,
    endpoint: spec.endpoint ?? '/v1/chat/completions',
    inputFileId: 'file-test',
    completionWindow: '24h',
    status,
    total: status === 'validating' ? 0 : n,
    completed: 0,
    failed: 0,
    pending: status === 'validating' ? 0 : n,
    costPico: 0n,
    createdAt: now,
    inProgressAt: status === 'in_progress' ? now : null,
    expiresAt: spec.expiresAt ?? new Date(now.getTime() + 86_400_000),
  });
  if (status !== 'validating') await insertItems(db, id, spec.bodies, spec.customId);
  return id;
}

/** What a validator does: the items, then the batch in progress (tests' stand-in for validateBatch). */
export async function insertItems(db: ControlDb, batchId: string, bodies: readonly unknown[], customId: (line: number) => string = (l) => `req-${l}`): Promise<void> {
  for (let from = 0; from < bodies.length; from += 500) {
    const rows = bodies.slice(from, from + 500).map((body, i) => ({ batchId, line: from + i, customId: customId(from + i), body, state: 'queued' as const, attempts: 0 }));
    await db.insert(batchItems).values(rows).onConflictDoNothing();
  }
}

export async function batchRow(db: ControlDb, id: string): Promise<typeof batches.$inferSelect> {
  const [b] = await db.select().from(batches).where(eq(batches.id, id));
  if (!b) throw new Error(`no batch ${id}`);
  return b;
}

export async function itemRows(db: ControlDb, id: string): Promise<Array<typeof batchItems.$inferSelect>> {
  return db.select().from(batchItems).where(eq(batchItems.batchId, id)).orderBy(asc(batchItems.line));
}

/** Polls until the batch reaches one of `statuses` (or throws after `timeoutMs`, naming where it stood). */
export async function waitForBatch(db: ControlDb, id: string, statuses: readonly BatchStatus[], timeoutMs = 15_000): Promise<typeof batches.$inferSelect> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const b = await batchRow(db, id);
    if (statuses.includes(b.status)) return b;
    if (Date.now() > until) throw new Error(`batch ${id} still ${b.status} (completed ${b.completed}, failed ${b.failed}, pending ${b.pending}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until `check` holds. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
