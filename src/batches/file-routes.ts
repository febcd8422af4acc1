/**
 * `/v1/files`: batch input files (uploaded) and batches' output and error files (built from the
 * items when read). Everything is per team: another team's file is a 404, like one that never was.
 */
import { and, asc, desc, eq, gt, isNull, or, sql, type SQL } from 'drizzle-orm';
import { files } from '../control/store/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestScope } from '../http/request-scope.js';
import { callerOf, plausibleId, queryOf } from '../http/team-routes.js';
import { ClientGoneError } from '../resilience/abort-reasons.js';
import { dbOf, limitOf, notFound, withStore, type BatchApiDeps } from './api-context.js';
import { builtFileContent, uploadedFileContent } from './file-content.js';
import { bytesParam } from './stored-bytes.js';
import { newFileId } from './ids.js';
import { fileObject, listObject } from './objects.js';
import { receiveUpload } from './upload.js';

const DAY_MS = 86_400_000;
/** OpenAI's default and largest page of files. */
const FILES_PAGE_DEFAULT = 10_000;
const FILES_PAGE_MAX = 10_000;

const purposes: ReadonlySet<string> = new Set(['batch', 'batch_output', 'batch_error']);

/** The columns of a file but its bytes. */
const meta = {
  id: files.id,
  team: files.team,
  purpose: files.purpose,
  filename: files.filename,
  bytes: files.bytes,
  batchId: files.batchId,
  createdBy: files.createdBy,
  createdAt: files.createdAt,
  expiresAt: files.expiresAt,
};

/** A file of the team that has not expired (the hourly cleanup deletes expired ones; until then they are gone too). */
function visible(team: string, now: Date): SQL {
  return and(eq(files.team, team), or(isNull(files.expiresAt), gt(files.expiresAt, now))) as SQL;
}

export async function uploadFile(deps: BatchApiDeps, scope: RequestScope): Promise<void> {
  let caller;
  try {
    caller = await callerOf(scope);
  } catch (err) {
    // Refused before reading: the body is not read, so the connection cannot be reused.
    scope.req.resume();
    throw err;
  }
  const db = dbOf(deps);
  const { batches: settings, bodyLimitBytes } = deps.settings();
  let upload;
  try {
    upload = await receiveUpload(scope.req, { maxFileBytes: settings.maxFileBytes, maxLines: settings.maxLines, maxLineBytes: bodyLimitBytes, memory: deps.uploadMemory });
  } catch (err) {
    // The edge answered (a timed-out upload) or the client is gone: nothing to send.
    if (err instanceof ClientGoneError) return;
    throw err;
  }
  const now = new Date(deps.clock.wallMs());
  const keepMs = Math.min(settings.fileRetentionDays * DAY_MS, (upload.expiresAfterSeconds ?? Infinity) * 1000);
  const row = {
    id: newFileId(),
    team: caller.team,
    purpose: 'batch' as const,
    filename: upload.filename,
    bytes: upload.content.length,
    content: upload.content,
    batchId: null,
    createdBy: caller.createdBy,
    createdAt: now,
    expiresAt: new Date(now.getTime() + keepMs),
  };
  try {
    await withStore(() => db.insert(files).values({ ...row, content: bytesParam(upload.content) }));
  } finally {
    upload.release();
  }
  await scope.json(200, fileObject(row), {});
}

export async function listFiles(deps: BatchApiDeps, scope: RequestScope): Promise<void> {
  const { team } = await callerOf(scope);
  const db = dbOf(deps);
  const query = queryOf(scope);
  const limit = limitOf(query, FILES_PAGE_DEFAULT, FILES_PAGE_MAX);
  const order = query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new GatewayError('invalid_request', 'order must be "asc" or "desc".', { param: 'order' });
  const purpose = query.get('purpose');
  // Files of another purpose (fine-tune, assistants…) are never kept here: none to list.
  if (purpose !== null && !purposes.has(purpose)) {
    await scope.json(200, listObject([], false), {});
    return;
  }
  const after = query.get('after');
  const now = new Date(deps.clock.wallMs());
  const rows = await withStore(async () => {
    const conditions: SQL[] = [visible(team, now)];
    if (purpose !== null) conditions.push(eq(files.purpose, purpose as 'batch'));
    if (after !== null) {
      // The cursor is the last id of the previous page: continue from its (created_at, id).
      const [at] = plausibleId(after) ? await db.select({ createdAt: files.createdAt }).from(files).where(and(eq(files.id, after), eq(files.team, team))) : [];
      if (!at) throw new GatewayError('invalid_request', 'after: no such file (it must be an id from the previous page).', { param: 'after' });
      conditions.push(sql`(${files.createdAt}, ${files.id}) ${order === 'desc' ? sql`<` : sql`>`} (${at.createdAt}, ${after})`);
    }
    const by = order === 'desc' ? [desc(files.createdAt), desc(files.id)] : [asc(files.createdAt), asc(files.id)];
    return db.select(meta).from(files).where(and(...conditions)).orderBy(...by).limit(limit + 1);
  });
  const page = rows.slice(0, limit).map(fileObject);
  await scope.json(200, listObject(page, rows.length > limit), {});
}

async function findFile(deps: BatchApiDeps, scope: RequestScope): Promise<Omit<typeof files.$inferSelect, 'content'>> {
  const { team } = await callerOf(scope);
  const db = dbOf(deps);
  const id = scope.params[0] as string;
  if (!plausibleId(id)) throw notFound('file', id);
  const now = new Date(deps.clock.wallMs());
  const [row] = await withStore(() => db.select(meta).from(files).where(and(eq(files.id, id), visible(team, now))));
  if (!row) throw notFound('file', id);
  return row;
}

export async function retrieveFile(deps: BatchApiDeps, scope: RequestScope): Promise<void> {
  await scope.json(200, fileObject(await findFile(deps, scope)), {});
}

export async function deleteFile(deps: BatchApiDeps, scope: RequestScope): Promise<void> {
  const file = await findFile(deps, scope);
  const db = dbOf(deps);
  // A batch already validated keeps its items (copied from the file), so deleting its input file
  // does not stop it; one still validating fails for want of its file.
  const gone = await withStore(() => db.delete(files).where(and(eq(files.id, file.id), eq(files.team, file.team))).returning({ id: files.id }));
  if (gone.length === 0) throw notFound('file', file.id);
  await scope.json(200, { id: file.id, object: 'file', deleted: true }, {});
}

export async function fileContent(deps: BatchApiDeps, scope: RequestScope): Promise<void> {
  const file = await findFile(deps, scope);
  const db = dbOf(deps);
  const pieces = file.purpose === 'batch' || file.batchId === null ? uploadedFileContent(db, file.id, file.bytes) : builtFileContent(db, file.batchId, file.purpose);
  // The first piece is read before the answer starts, so a database that is down is a 503, not a cut body.
  const iterator = pieces[Symbol.asyncIterator]();
  const first = await withStore(() => iterator.next());
  async function* all(): AsyncGenerator<string> {
    if (first.done) return;
    yield first.value;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  await scope.stream(200, { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${file.id}.jsonl"` }, all());
}
