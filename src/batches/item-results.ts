/**
 * The one place a batch item's result is written, and where a batch ends. Exactly once for the
 * client: a result is written by the update that moves the item out of `queued`/`running`, so two
 * runs of one item (a replica that died mid-item, a job delivered twice) can never both write a
 * line; the batch's counts change in the same transaction, only when that update took effect.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { ControlDb } from '../control/store/store.js';
import { batches, batchItems, files, type BatchItemState, type BatchStatus } from '../control/store/schema.js';
import { newFileId } from './ids.js';

/** How an item ended. */
export type ItemResult =
  /** The endpoint answered (2xx: a success; otherwise a failure, the gateway's error body as `body`). */
  | { readonly kind: 'response'; readonly statusCode: number; readonly requestId: string; readonly body: unknown; readonly costPico: bigint | null }
  /** It never got an answer it could keep (`{code, message}` in OpenAI's error-file shape). */
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

export interface ResultOptions {
  readonly now: Date;
  /** Days the batch's output and error files are kept. */
  readonly retentionDays: number;
}

/** What PostgreSQL's jsonb cannot hold in a string: NUL, and a surrogate without its pair. */
const UNSTORABLE_CHARS = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** The same as JSON.stringify writes them (a literal backslash-u in a string can match too: only a needless pass). */
const UNSTORABLE_ESCAPES = /\\u0000|\\ud[89a-f][0-9a-f]{2}/i;

/**
 * An upstream answer as jsonb can store it: a NUL or an unpaired surrogate in any string (or key)
 * becomes U+FFFD. Without this a hostile or broken upstream's answer could never be written: the
 * item would stay running, be taken back when its lease lapsed and run (and be paid for) again,
 * until its batch's window ended. Answers without them are returned as they are.
 */
export function storableJson(value: unknown): unknown {
  if (value === undefined) return value;
  const text = JSON.stringify(value);
  if (text === undefined || !UNSTORABLE_ESCAPES.test(text)) return value;
  const clean = (s: string): string => s.replace(UNSTORABLE_CHARS, '\ufffd');
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'string') return clean(v);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [clean(k), x]));
    return v;
  });
}

/**
 * Writes an item's result if nobody has yet; returns whether this call wrote it. A non-2xx
 * response or an error goes to the error file and onto the dead-letter list. Ends the batch when
 * this was its last pending item.
 */
export async function recordItemResult(db: ControlDb, batchId: string, line: number, result: ItemResult, options: ResultOptions): Promise<boolean> {
  const succeeded = result.kind === 'response' && result.statusCode >= 200 && result.statusCode < 300;
  return db.transaction(async (tx) => {
    const written = await tx
      .update(batchItems)
      .set({
        state: succeeded ? 'succeeded' : 'failed',
        statusCode: result.kind === 'response' ? result.statusCode : null,
        requestId: result.kind === 'response' ? result.requestId : null,
        response: result.kind === 'response' ? storableJson(result.body) : null,
        error: result.kind === 'error' ? { code: result.code, message: result.message } : null,
        costPico: result.kind === 'response' ? result.costPico : null,
        finishedAt: options.now,
        deadLetteredAt: succeeded ? null : options.now,
        claimedBy: null,
        leaseUntil: null,
      })
      .where(and(eq(batchItems.batchId, batchId), eq(batchItems.line, line), inArray(batchItems.state, ['queued', 'running'])))
      .returning({ line: batchItems.line });
    if (written.length === 0) return false;
    const cost = result.kind === 'response' && result.costPico !== null ? result.costPico : 0n;
    await tx
      .update(batches)
      .set(
        succeeded
          ? { completed: sql`${batches.completed} + 1`, pending: sql`${batches.pending} - 1`, costPico: sql`${batches.costPico} + ${cost}` }
          : { failed: sql`${batches.failed} + 1`, pending: sql`${batches.pending} - 1`, costPico: sql`${batches.costPico} + ${cost}` },
      )
      .where(eq(batches.id, batchId));
    await finalizeIfDone(tx as unknown as ControlDb, batchId, options);
    return true;
  });
}

/**
 * Ends every item of the batch that has not started (`queued`) as `cancelled` or `expired`, with
 * the error line OpenAI writes for them (`batch_cancelled`, `batch_expired`); running items finish
 * and write their own results. Ends the batch once nothing is pending. Returns the items ended.
 */
export async function endUnstarted(db: ControlDb, batchId: string, as: 'cancelled' | 'expired', options: ResultOptions): Promise<number> {
  const error =
    as === 'cancelled'
      ? { code: 'batch_cancelled', message: 'This request was not run: the batch was cancelled.' }
      : { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' };
  return db.transaction(async (tx) => {
    const ended = await tx
      .update(batchItems)
      .set({ state: as satisfies BatchItemState, error, finishedAt: options.now, notBefore: null })
      .where(and(eq(batchItems.batchId, batchId), eq(batchItems.state, 'queued')))
      .returning({ line: batchItems.line });
    if (ended.length > 0) await tx.update(batches).set({ pending: sql`${batches.pending} - ${ended.length}` }).where(eq(batches.id, batchId));
    await finalizeIfDone(tx as unknown as ControlDb, batchId, options);
    return ended.length;
  });
}

/** Statuses a batch ends from once nothing is pending, and the status it ends in. */
const endsAs: Partial<Record<BatchStatus, { status: BatchStatus; at: 'completedAt' | 'cancelledAt' | 'expiredAt' }>> = {
  in_progress: { status: 'completed', at: 'completedAt' },
  finalizing: { status: 'completed', at: 'completedAt' },
  cancelling: { status: 'cancelled', at: 'cancelledAt' },
};

/**
 * Ends the batch if nothing is pending: its status (completed, cancelled, or expired when its
 * window passed), and its output and error files (rows without bytes: their content is built
 * from the items when read). Conditional on the status it read, so two callers end it once.
 */
export async function finalizeIfDone(db: ControlDb, batchId: string, options: ResultOptions): Promise<void> {
  const [b] = await db.select().from(batches).where(eq(batches.id, batchId)).for('update');
  if (!b || b.pending > 0) return;
  const expired = b.status === 'in_progress' && b.expiresAt.getTime() <= options.now.getTime();
  const end = expired ? { status: 'expired' as const, at: 'expiredAt' as const } : endsAs[b.status];
  if (!end) return;
  const expiresAt = new Date(options.now.getTime() + options.retentionDays * 86_400_000);
  const file = (purpose: 'batch_output' | 'batch_error'): typeof files.$inferInsert => ({
    id: newFileId(),
    team: b.team,
    purpose,
    filename: `${b.id}_${purpose === 'batch_output' ? 'output' : 'error'}.jsonl`,
    // The size of a built file is known only when it is built; 0 until then (docs/batches.md).
    bytes: 0,
    content: null,
    batchId: b.id,
    createdBy: b.keyId,
    createdAt: options.now,
    expiresAt,
  });
  // A batch ended before (then a dead letter was replayed) keeps the files it has.
  const output = b.outputFileId === null && b.completed > 0 ? file('batch_output') : undefined;
  // Failed items, and ones a cancel or the window ended, are in the error file.
  const error = b.errorFileId === null && (b.failed > 0 || b.completed + b.failed < b.total) ? file('batch_error') : undefined;
  const moved = await db
    .update(batches)
    .set({ status: end.status, [end.at]: options.now, finalizingAt: options.now, outputFileId: output?.id ?? b.outputFileId, errorFileId: error?.id ?? b.errorFileId })
    .where(and(eq(batches.id, batchId), eq(batches.status, b.status)))
    .returning({ id: batches.id });
  if (moved.length === 0) return;
  const rows = [output, error].filter((f) => f !== undefined);
  if (rows.length > 0) await db.insert(files).values(rows);
}

/** Batch statuses a dead letter may be replayed in: the ones whose queued items run. */
export const replayable: ReadonlySet<BatchStatus> = new Set(['in_progress', 'completed']);

/**
 * Puts a dead-lettered item back on the queue: its result is cleared and the batch counts it as
 * pending again (a completed batch goes back to `in_progress`; its output and error files then
 * show the item once it ends). Returns false when the item is not on the dead-letter list, or its batch
 * is not one that runs items (cancelled or cancelling: see `replayable`).
 */
export async function replayItem(db: ControlDb, batchId: string, line: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    // Only a batch that runs items again may take one back: a cancelled (or cancelling) batch
    // never runs its queued items, so a replayed item there would sit queued, in neither file.
    // Locked, so a cancel waits for the replay and then ends the item with the others.
    const [batch] = await tx.select({ status: batches.status }).from(batches).where(eq(batches.id, batchId)).for('update');
    if (!batch || !replayable.has(batch.status)) return false;
    // What its failed run cost leaves the batch's sum with it: the sum stays the items' sum.
    const [before] = await tx.select({ costPico: batchItems.costPico }).from(batchItems).where(and(eq(batchItems.batchId, batchId), eq(batchItems.line, line))).for('update');
    const replayed = await tx
      .update(batchItems)
      .set({ state: 'queued', attempts: 0, notBefore: null, statusCode: null, requestId: null, response: null, error: null, costPico: null, finishedAt: null, deadLetteredAt: null })
      .where(and(eq(batchItems.batchId, batchId), eq(batchItems.line, line), eq(batchItems.state, 'failed'), sql`${batchItems.deadLetteredAt} IS NOT NULL`))
      .returning({ line: batchItems.line });
    if (replayed.length === 0) return false;
    await tx
      .update(batches)
      .set({ failed: sql`${batches.failed} - 1`, pending: sql`${batches.pending} + 1`, costPico: sql`${batches.costPico} - ${before?.costPico ?? 0n}`, status: sql`CASE WHEN ${batches.status} = 'completed' THEN 'in_progress' ELSE ${batches.status} END`, completedAt: sql`CASE WHEN ${batches.status} = 'completed' THEN NULL ELSE ${batches.completedAt} END` })
      .where(eq(batches.id, batchId));
    return true;
  });
}
