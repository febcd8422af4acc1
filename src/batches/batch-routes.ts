/**
 * `/v1/batches`: create (the batch is stored as `validating` and handed to the engine, which
 * validates it into items and runs them), list, retrieve, cancel. Per team, like files.
 */
import { and, desc, eq, gt, isNull, or, sql, type SQL } from 'drizzle-orm';
import { batches, files, type BatchStatus } from '../control/store/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestScope } from '../http/request-scope.js';
import { callerOf, plausibleId, queryOf } from '../http/team-routes.js';
import { isRecord } from '../is-record.js';
import { dbOf, limitOf, notFound, withStore, type BatchApiDeps } from './api-context.js';
import { newBatchId } from './ids.js';
import { hasLoneSurrogate } from './input-lines.js';
import { endUnstarted, finalizeIfDone } from './item-results.js';
import { batchObject, listObject } from './objects.js';

/** The endpoints a batch may run (the gateway's OpenAI operations). */
export const batchEndpoints: readonly string[] = ['/v1/chat/completions', '/v1/embeddings', '/v1/completions'];
const WINDOW_MS = 24 * 3_600_000;
const BATCHES_PAGE_DEFAULT = 20;
const BATCHES_PAGE_MAX = 100;
/** OpenAI's metadata bounds: 16 pairs, keys up to 64 characters, values up to 512. */
const METADATA_PAIRS = 16;
const METADATA_KEY_CHARS = 64;
const METADATA_VALUE_CHARS = 512;
/** States a cancel may start from. */
const cancellable: ReadonlySet<BatchStatus> = new Set(['validating', 'in_progress', 'finalizing']);

interface CreateBody {
  readonly inputFileId: string;
  readonly endpoint: string;
  readonly metadata: Record<string, string> | null;
}

/** The create body: `input_file_id`, `endpoint`, `completion_window: "24h"`, optional `metadata`; other fields are ignored. */
export function parseCreateBody(body: unknown): CreateBody {
  if (!isRecord(body)) throw new GatewayError('invalid_request', 'The body must be a JSON object with input_file_id, endpoint and completion_window.');
  const { input_file_id: inputFileId, endpoint, completion_window: window, metadata } = body;
  if (typeof inputFileId !== 'string' || inputFileId === '') throw new GatewayError('invalid_request', 'input_file_id is required (the id of a file uploaded with purpose "batch").', { param: 'input_file_id' });
  if (typeof endpoint !== 'string' || !batchEndpoints.includes(endpoint)) {
    throw new GatewayError('invalid_request', `endpoint must be one of ${batchEndpoints.join(', ')}.`, { param: 'endpoint' });
  }
  if (window !== '24h') throw new GatewayError('invalid_request', 'completion_window must be "24h".', { param: 'completion_window' });
  if (body.output_expires_after !== undefined && body.output_expires_after !== null) {
    throw new GatewayError('unsupported_parameter', 'output_expires_after is not supported: output and error files are kept batches.fileRetentionDays days.', { param: 'output_expires_after' });
  }
  return { inputFileId, endpoint, metadata: parseMetadata(metadata) };
}

function parseMetadata(metadata: unknown): Record<string, string> | null {
  if (metadata === undefined || metadata === null) return null;
  if (!isRecord(metadata)) throw new GatewayError('invalid_request', 'metadata must be an object of strings.', { param: 'metadata' });
  const entries = Object.entries(metadata);
  if (entries.length > METADATA_PAIRS) throw new GatewayError('invalid_request', `metadata holds at most ${METADATA_PAIRS} pairs.`, { param: 'metadata' });
  for (const [k, v] of entries) {
    if (k.length > METADATA_KEY_CHARS || typeof v !== 'string' || v.length > METADATA_VALUE_CHARS || /\u0000/.test(k + v) || hasLoneSurrogate(k + v)) {
      throw new GatewayError('invalid_request', `metadata: keys are at most ${METADATA_KEY_CHARS} characters, values strings of at most ${METADATA_VALUE_CHARS}.`, { param: 'metadata' });
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

export async function createBatch(deps: BatchApiDeps, scope: RequestScope): Promise<void> {
  const { principal, team } = await callerOf(scope);
  // Items run as an API key, for as long as the batch runs: a person's token expires within the hour.
  if (principal.keyId === undefined) {
    throw new GatewayError('permission_denied', 'Create a batch with an API key: its items run as that key (its models, limits and budgets). A signed-in person may upload files and read batches.');
  }
  const body = parseCreateBody(scope.body);
  const db = dbOf(deps);
  const now = new Date(deps.clock.wallMs());
  const row = await withStore(async () => {
    if (!plausibleId(body.inputFileId)) throw notFound('file', body.inputFileId);
    const [file] = await db
      .select({ purpose: files.purpose })
      .from(files)
      .where(and(eq(files.id, body.inputFileId), eq(files.team, team), or(isNull(files.expiresAt), gt(files.expiresAt, now))));
    if (!file) throw notFound('file', body.inputFileId);
    if (file.purpose !== 'batch') throw new GatewayError('invalid_request', `input_file_id: file ${body.inputFileId} is a batch's ${file.purpose} file, not an upload with purpose "batch".`, { param: 'input_file_id' });
    const [created] = await db
      .insert(batches)
      .values({
        id: newBatchId(),
        team,
        keyId: principal.keyId as string,
        endpoint: body.endpoint,
        inputFileId: body.inputFileId,
        completionWindow: '24h',
        status: 'validating',
        metadata: body.metadata,
        total: 0,
        completed: 0,
        failed: 0,
        pending: 0,
        costPico: 0n,
        createdAt: now,
        expiresAt: new Date(now.getTime() + WINDOW_MS),
      })
      .returning();
    return created!;
  });
  try {
    await deps.engine.submit(row.id);
  } catch (err) {
    // The batch is stored (`validating`): the engine takes it up when it can (docs/batches.md).
    deps.logger.warn({ err: { message: err instanceof Error ? err.message : String(err) }, batchId: row.id }, 'batches: handing a new batch to the engine failed; it stays validating until the engine picks it up');
  }
  await scope.json(200, batchObject(row), {});
}

export async function listBatches(deps: BatchApiDeps, scope: RequestScope): Promise<void> {
  const { team } = await callerOf(scope);
  const db = dbOf(deps);
  const query = queryOf(scope);
  const limit = limitOf(query, BATCHES_PAGE_DEFAULT, BATCHES_PAGE_MAX);
  const after = query.get('after');
  const rows = await withStore(async () => {
    const conditions: SQL[] = [eq(batches.team, team)];
    if (after !== null) {
      const [at] = plausibleId(after) ? await db.select({ createdAt: batches.createdAt }).from(batches).where(and(eq(batches.id, after), eq(batches.team, team))) : [];
      if (!at) throw new GatewayError('invalid_request', 'after: no such batch (it must be an id from the previous page).', { param: 'after' });
      conditions.push(sql`(${batches.createdAt}, ${batches.id}) < (${at.createdAt}, ${after})`);
    }
    return db.select().from(batches).where(and(...conditions)).orderBy(desc(batches.createdAt), desc(batches.id)).limit(limit + 1);
  });
  await scope.json(200, listObject(rows.slice(0, limit).map((b) => batchObject(b) as { id: string }), rows.length > limit), {});
}

async function findBatch(deps: BatchApiDeps, scope: RequestScope): Promise<typeof batches.$inferSelect> {
  const { team } = await callerOf(scope);
  const db = dbOf(deps);
  const id = scope.params[0] as string;
  if (!plausibleId(id)) throw notFound('batch', id);
  const [row] = await withStore(() => db.select().from(batches).where(and(eq(batches.id, id), eq(batches.team, team))));
  if (!row) throw notFound('batch', id);
  return row;
}

export async function retrieveBatch(deps: BatchApiDeps, scope: RequestScope): Promise<void> {
  await scope.json(200, batchObject(await findBatch(deps, scope)), {});
}

/**
 * Cancel: the batch goes `cancelling`, its unstarted items end as `batch_cancelled`, and it ends
 * `cancelled` once the running ones finish. A batch still validating ends at once (it has no
 * items yet; validation stops at its next step). Cancelling a cancelling or cancelled batch
 * answers it as it is; one that ended otherwise is a 409.
 */
export async function cancelBatch(deps: BatchApiDeps, scope: RequestScope): Promise<void> {
  const found = await findBatch(deps, scope);
  const db = dbOf(deps);
  const options = { now: new Date(deps.clock.wallMs()), retentionDays: deps.settings().batches.fileRetentionDays };
  const result = await withStore(async () => {
    let b = found;
    // The status may move under us (validation finishing): a conditional update, tried again from what it is now.
    for (let tries = 0; tries < 3; tries++) {
      if (b.status === 'cancelling' || b.status === 'cancelled') break;
      if (!cancellable.has(b.status)) throw new GatewayError('resource_conflict', `The batch has already ended (${b.status}): there is nothing to cancel.`);
      const moved = await db
        .update(batches)
        .set({ status: 'cancelling', cancellingAt: options.now })
        .where(and(eq(batches.id, b.id), eq(batches.status, b.status)))
        .returning({ id: batches.id });
      if (moved.length > 0) break;
      const [now] = await db.select().from(batches).where(eq(batches.id, b.id));
      if (!now) throw notFound('batch', b.id);
      b = now;
    }
    const [now] = await db.select().from(batches).where(eq(batches.id, b.id));
    if (now?.status === 'cancelling') {
      // A batch never validated (total 0) has no counted items: it just ends. Items a validation
      // in flight wrote are not ended here (they were never counted): validation drops them.
      if (now.total === 0) await finalizeIfDone(db, b.id, options);
      else await endUnstarted(db, b.id, 'cancelled', options);
    }
    const [after] = await db.select().from(batches).where(eq(batches.id, b.id));
    return after!;
  });
  await scope.json(200, batchObject(result), {});
}
