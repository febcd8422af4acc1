/**
 * Validation of a created batch: its input file becomes its items (the durable job records).
 * Run by the engine, not the create route, so a crash between the two is picked up again: it is
 * idempotent (items are inserted ON CONFLICT DO NOTHING, and the batch moves on only from
 * `validating`), and it yields to the event loop between pieces of work, so a 50,000-line file
 * never holds the loop for more than a few milliseconds at a time.
 */
import { and, eq, sql } from 'drizzle-orm';
import { batches, batchItems, files } from '../control/store/schema.js';
import { driverError, isStoreUnavailable } from '../control/store/errors.js';
import type { ControlDb } from '../control/store/store.js';
import { BadLine, checkForEndpoint, isLineError, LineSplitter, LineTooLong, parseInputLine, type InputLine, type LineError } from './input-lines.js';
import { storedBytes } from './stored-bytes.js';

export interface ValidateSettings {
  /** Most requests in one batch (`batches.maxLines`). */
  readonly maxLines: number;
  /** Longest line (`server.bodyLimitBytes`: an item is no larger than a live request); default 10 MiB. */
  readonly maxLineBytes?: number;
  /** The time written as `in_progress_at` / `failed_at` (default now). */
  readonly now?: Date;
}

/** Errors listed on a failed batch at most (OpenAI lists some, not every bad line of a large file). */
export const MAX_LISTED_ERRORS = 100;
/**
 * Items per INSERT: adapted so one takes about INSERT_TARGET_MS (the embedded database runs each
 * statement on the event loop, at about 0.2 ms an item), between the bounds; and bytes of bodies
 * per INSERT at most.
 */
const INSERT_ROWS_MIN = 8;
const INSERT_ROWS_MAX = 500;
const INSERT_TARGET_MS = 5;
const INSERT_BYTES = 1024 * 1024;
/** Work done between two yields to the event loop. */
const SLICE_MS = 4;

export type ValidateOutcome = 'in_progress' | 'failed' | 'skipped';

/**
 * Validates batch `batchId` (status `validating`): every line of its input file is checked
 * (shape, custom_id unique, method POST, url the batch's endpoint, a model, not streamed); all
 * good, its items are written and the batch goes `in_progress` with its counts; otherwise it goes
 * `failed` with OpenAI's `errors` list and no items. Returns what it did; `skipped` when the
 * batch had already left `validating` (validated before, cancelled, gone).
 */
export async function validateBatch(db: ControlDb, batchId: string, settings: ValidateSettings): Promise<ValidateOutcome> {
  const [batch] = await db.select().from(batches).where(eq(batches.id, batchId));
  if (!batch) return 'skipped';
  if (batch.status !== 'validating') {
    await dropUncountedItems(db, batchId);
    return 'skipped';
  }
  const now = settings.now ?? new Date();
  const maxLineBytes = settings.maxLineBytes ?? 10 * 1024 * 1024;
  const [file] = await db.select({ bytes: files.bytes, purpose: files.purpose, team: files.team }).from(files).where(eq(files.id, batch.inputFileId));
  if (!file || file.team !== batch.team || file.purpose !== 'batch') {
    return fail(db, batchId, [{ code: 'invalid_file', message: `The input file ${batch.inputFileId} no longer exists.`, param: 'input_file_id', line: null }], now);
  }

  // Pass 1: check every line; nothing is written unless all are good.
  const errors: LineError[] = [];
  let errorCount = 0;
  const seen = new Set<string>();
  let count = 0;
  const problem = (e: LineError): void => {
    errorCount += 1;
    if (errors.length < MAX_LISTED_ERRORS) errors.push(e);
  };
  await eachLine(db, batch.inputFileId, file.bytes, maxLineBytes, problem, (input, line) => {
    count += 1;
    if (count === settings.maxLines + 1) problem({ code: 'too_many_requests', message: `The file has more than ${settings.maxLines} requests (batches.maxLines).`, param: null, line: line + 1 });
    const bad = checkForEndpoint(input, line, batch.endpoint);
    if (bad) return problem(bad);
    if (seen.has(input.customId)) return problem({ code: 'duplicate_custom_id', message: `Line ${line + 1}: custom_id ${JSON.stringify(input.customId.slice(0, 64))} is used by an earlier line; each must be unique.`, param: 'custom_id', line: line + 1 });
    seen.add(input.customId);
  });
  seen.clear();
  if (count === 0 && errorCount === 0) problem({ code: 'empty_file', message: 'The input file holds no requests.', param: null, line: null });
  if (errorCount > 0) {
    if (errorCount > errors.length) errors.push({ code: 'more_errors', message: `${errorCount - errors.length} more lines have errors.`, param: null, line: null });
    return fail(db, batchId, errors, now);
  }

  // Pass 2: the items, in bounded INSERTs. A second run (after a crash) inserts nothing new.
  let written = 0;
  let rows: Array<typeof batchItems.$inferInsert> = [];
  let rowBytes = 0;
  let chunkRows = 32;
  const flush = async (): Promise<void> => {
    if (rows.length === 0) return;
    const chunk = rows;
    rows = [];
    rowBytes = 0;
    const started = performance.now();
    await db.insert(batchItems).values(chunk).onConflictDoNothing();
    const ms = performance.now() - started;
    if (ms > 2 * INSERT_TARGET_MS) chunkRows = Math.max(INSERT_ROWS_MIN, chunkRows >> 1);
    else if (ms < INSERT_TARGET_MS / 2 && chunk.length >= chunkRows) chunkRows = Math.min(INSERT_ROWS_MAX, chunkRows * 2);
  };
  try {
    await eachLine(
      db,
      batch.inputFileId,
      file.bytes,
      maxLineBytes,
      () => undefined,
      async (input, line, bytes) => {
        written += 1;
        rows.push({ batchId, line, customId: input.customId, body: input.body, state: 'queued', attempts: 0 });
        rowBytes += bytes;
        if (rows.length >= chunkRows || rowBytes >= INSERT_BYTES) await flush();
      },
    );
    await flush();
  } catch (err) {
    // A database that cannot be reached: validation runs again later. Anything else the database
    // refused (content it cannot store) would fail every run: the batch fails, not stays validating.
    if (isStoreUnavailable(err)) throw err;
    const { message } = driverError(err);
    const outcome = await fail(db, batchId, [{ code: 'invalid_request', message: `The requests could not be stored: ${message.slice(0, 200) || 'the database refused them'}.`, param: null, line: null }], now);
    await dropUncountedItems(db, batchId);
    return outcome;
  }
  if (written !== count) {
    // The file was deleted while it was read: what was written cannot be trusted to be all of it.
    const outcome = await fail(db, batchId, [{ code: 'invalid_file', message: `The input file ${batch.inputFileId} was deleted during validation.`, param: 'input_file_id', line: null }], now);
    await dropUncountedItems(db, batchId);
    return outcome;
  }

  const moved = await db
    .update(batches)
    .set({ status: 'in_progress', inProgressAt: now, total: count, pending: count, completed: 0, failed: 0 })
    .where(and(eq(batches.id, batchId), eq(batches.status, 'validating')))
    .returning({ id: batches.id });
  if (moved.length === 0) {
    // Cancelled (or failed by another run) while the items were written: they were never counted.
    await dropUncountedItems(db, batchId);
    return 'skipped';
  }
  return 'in_progress';
}

/** Items of a batch whose validation never completed (total 0 and not validating any more) are removed: nothing may run them. */
async function dropUncountedItems(db: ControlDb, batchId: string): Promise<void> {
  await db.execute(
    sql`DELETE FROM ${batchItems} WHERE ${batchItems.batchId} = ${batchId} AND EXISTS (SELECT 1 FROM ${batches} WHERE ${batches.id} = ${batchId} AND ${batches.total} = 0 AND ${batches.status} <> 'validating')`,
  );
}

async function fail(db: ControlDb, batchId: string, errors: LineError[], now: Date): Promise<ValidateOutcome> {
  const moved = await db
    .update(batches)
    .set({ status: 'failed', failedAt: now, errors: { object: 'list', data: errors } })
    .where(and(eq(batches.id, batchId), eq(batches.status, 'validating')))
    .returning({ id: batches.id });
  return moved.length > 0 ? 'failed' : 'skipped';
}

/**
 * Calls `onInput` for each well-formed line of the stored file, in order, and `onError` for each
 * malformed one (a line too long, or not UTF-8, ends the reading: what follows cannot be placed).
 * Yields to the event loop every few milliseconds of work.
 */
async function eachLine(
  db: ControlDb,
  fileId: string,
  totalBytes: number,
  maxLineBytes: number,
  onError: (e: LineError) => void,
  onInput: (input: InputLine, line: number, bytes: number) => void | Promise<void>,
): Promise<void> {
  const splitter = new LineSplitter(maxLineBytes);
  let pending: Array<{ text: string; line: number }> = [];
  const collect = (text: string, line: number): void => {
    pending.push({ text, line });
  };
  const drain = async (): Promise<void> => {
    let sliceStart = performance.now();
    for (const { text, line } of pending) {
      const parsed = parseInputLine(text, line);
      if (isLineError(parsed)) onError(parsed);
      else await onInput(parsed, line, text.length);
      if (performance.now() - sliceStart >= SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    pending = [];
  };
  try {
    for await (const piece of storedBytes(db, fileId, totalBytes)) {
      splitter.push(piece, collect);
      await drain();
    }
    splitter.end(collect);
    await drain();
  } catch (err) {
    if (err instanceof LineTooLong || err instanceof BadLine) {
      await drain();
      onError(err.lineError);
      return;
    }
    throw err;
  }
}
