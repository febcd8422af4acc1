import { and, desc, eq, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { appendAudit } from '../control/audit.js';
import { batches, batchItems } from '../control/store/schema.js';
import type { ControlDb } from '../control/store/store.js';
import { GatewayError } from '../errors/gateway-error.js';
import { replayable, replayItem } from '../batches/item-results.js';
import { formatUsd } from '../spend/money.js';
import { readableTeams } from './access.js';
import type { AdminCall, AdminReply, AdminRoute } from './context.js';
import { intParam } from './helpers.js';

/**
 * The dead-letter list (docs/batches.md#dead-letters): batch items that failed after their
 * retries, or for a reason no retry fixes. An admin (or the team's admin) inspects them, replays
 * one (it runs again; the batch counts it as pending until it ends) or drops it from the list (it
 * stays in the batch's error file). Read: `batch.read`; replay and drop: `batch.write`, audited.
 */

export const deadLetterView = z.object({
  object: z.literal('batch.dead_letter'),
  batchId: z.string(),
  line: z.number().int().describe('0-based line of the batch input file.'),
  customId: z.string(),
  team: z.string(),
  keyId: z.string().describe('The key the batch runs as.'),
  endpoint: z.string(),
  attempts: z.number().int().describe('Runs it had.'),
  statusCode: z.number().int().nullable().describe('The status of its last answer; null when it got none.'),
  requestId: z.string().nullable().describe('The request id of its last run (GET /admin/v1/requests/{id}).'),
  error: z.unknown().describe('Its last answer (the gateway\'s error body), or {code, message} when it got none.'),
  costUsd: z.string().nullable().describe('What its runs cost, exact decimal dollars; null when unpriced.'),
  deadLetteredAt: z.string().describe('RFC 3339'),
});

const deadLetterList = z.object({ object: z.literal('list'), data: z.array(deadLetterView), nextCursor: z.string().nullable() });

export const deadLetterRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/dead-letters',
    summary: 'Batch items on the dead-letter list, newest first (filters; paginated)',
    action: 'batch.read',
    query: { team: 'Only this team.', batch: 'Only this batch.', limit: 'Items per page, 1-1000 (default 100).', cursor: 'Continue from the `nextCursor` of the previous page.' },
    status: 200,
    response: deadLetterList,
    handle: listDeadLetters,
  },
  { method: 'GET', path: '/dead-letters/{batch}/{line}', summary: 'One dead-lettered batch item, with its last answer', action: 'batch.read', status: 200, response: deadLetterView, handle: getDeadLetter },
  {
    method: 'POST',
    path: '/dead-letters/{batch}/{line}/replay',
    summary: 'Run a dead-lettered item again (off the list; its batch counts it as pending until it ends)',
    action: 'batch.write',
    status: 202,
    response: deadLetterView,
    handle: replayDeadLetter,
  },
  { method: 'DELETE', path: '/dead-letters/{batch}/{line}', summary: "Drop an item from the dead-letter list (it stays in its batch's error file)", action: 'batch.write', status: 200, response: deadLetterView, handle: dropDeadLetter },
];

const columns = {
  batchId: batchItems.batchId,
  line: batchItems.line,
  customId: batchItems.customId,
  attempts: batchItems.attempts,
  statusCode: batchItems.statusCode,
  requestId: batchItems.requestId,
  response: batchItems.response,
  error: batchItems.error,
  costPico: batchItems.costPico,
  deadLetteredAt: batchItems.deadLetteredAt,
  team: batches.team,
  keyId: batches.keyId,
  endpoint: batches.endpoint,
  expiresAt: batches.expiresAt,
  batchStatus: batches.status,
};
type Row = { [K in keyof typeof columns]: (typeof columns)[K]['_']['data'] | null } & { batchId: string; line: number; customId: string; team: string; keyId: string; endpoint: string; attempts: number; expiresAt: Date; batchStatus: string };

function view(r: Row, deadLetteredAt: Date | null = r.deadLetteredAt): z.infer<typeof deadLetterView> {
  return {
    object: 'batch.dead_letter',
    batchId: r.batchId,
    line: r.line,
    customId: r.customId,
    team: r.team,
    keyId: r.keyId,
    endpoint: r.endpoint,
    attempts: r.attempts,
    statusCode: r.statusCode,
    requestId: r.requestId,
    error: r.response ?? r.error,
    costUsd: r.costPico === null ? null : formatUsd(r.costPico),
    deadLetteredAt: (deadLetteredAt ?? new Date(0)).toISOString(),
  };
}

/** The batch id and line a path names; anything else is a 404 (no such dead letter). */
function keyOf(call: AdminCall): { batchId: string; line: number } {
  const batchId = call.params[0] as string;
  const raw = call.params[1] as string;
  const line = /^\d{1,9}$/.test(raw) ? Number(raw) : -1;
  if (line < 0 || batchId.length > 64) throw notFound(batchId, raw);
  return { batchId, line };
}

function notFound(batchId: string, line: string | number): GatewayError {
  return new GatewayError('resource_not_found', `No dead letter ${JSON.stringify(batchId).slice(0, 80)} line ${String(line).slice(0, 12)}.`);
}

/** The dead letter a path names, its team's permission checked: unknown (or not dead-lettered) is a 404, another team's a 403. */
async function find(call: AdminCall, db: ControlDb, action: 'batch.read' | 'batch.write'): Promise<Row> {
  const { batchId, line } = keyOf(call);
  const [row] = (await db
    .select(columns)
    .from(batchItems)
    .innerJoin(batches, eq(batches.id, batchItems.batchId))
    .where(and(eq(batchItems.batchId, batchId), eq(batchItems.line, line), sql`${batchItems.deadLetteredAt} IS NOT NULL`))) as Row[];
  if (!row) throw notFound(batchId, line);
  call.require(action, row.team);
  return row;
}

/** Cursor: `<deadLetteredAt ms>.<batch id>.<line>` of the last item of the previous page. */
function cursorOf(call: AdminCall): { at: Date; batchId: string; line: number } | undefined {
  const raw = call.query.get('cursor');
  if (raw === null) return undefined;
  const m = /^(\d{1,16})\.([A-Za-z0-9_-]{1,64})\.(\d{1,9})$/.exec(raw);
  if (!m) throw new GatewayError('invalid_request', 'cursor: not a cursor this API gave.', { param: 'cursor' });
  return { at: new Date(Number(m[1])), batchId: m[2] as string, line: Number(m[3]) };
}

function textFilter(call: AdminCall, name: string): string | undefined {
  const v = call.query.get(name);
  if (v === null) return undefined;
  if (v.length === 0 || v.length > 256) throw new GatewayError('invalid_request', `${name}: must be 1 to 256 characters.`, { param: name });
  return v;
}

async function listDeadLetters(call: AdminCall): Promise<AdminReply> {
  const limit = intParam(call.query, 'limit', 100, 1_000);
  const where: SQL[] = [sql`${batchItems.deadLetteredAt} IS NOT NULL`];
  const team = textFilter(call, 'team');
  if (team !== undefined) {
    call.require('batch.read', team);
    where.push(eq(batches.team, team));
  } else {
    const visible = readableTeams(call.actor, 'batch.read');
    if (visible !== 'all') {
      if (visible.size === 0) call.require('batch.read');
      where.push(inArray(batches.team, [...visible]));
    }
  }
  const batch = textFilter(call, 'batch');
  if (batch !== undefined) where.push(eq(batchItems.batchId, batch));
  const c = cursorOf(call);
  if (c) {
    where.push(
      or(
        lt(batchItems.deadLetteredAt, c.at),
        and(eq(batchItems.deadLetteredAt, c.at), lt(batchItems.batchId, c.batchId)),
        and(eq(batchItems.deadLetteredAt, c.at), eq(batchItems.batchId, c.batchId), lt(batchItems.line, c.line)),
      ) as SQL,
    );
  }
  const rows = (await call.db
    .select(columns)
    .from(batchItems)
    .innerJoin(batches, eq(batches.id, batchItems.batchId))
    .where(and(...where))
    .orderBy(desc(batchItems.deadLetteredAt), desc(batchItems.batchId), desc(batchItems.line))
    .limit(limit + 1)) as Row[];
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const nextCursor = rows.length > limit && last ? `${(last.deadLetteredAt as Date).getTime()}.${last.batchId}.${last.line}` : null;
  return { status: 200, body: { object: 'list', data: page.map((r) => view(r)), nextCursor } };
}

async function getDeadLetter(call: AdminCall): Promise<AdminReply> {
  return { status: 200, body: view(await find(call, call.db, 'batch.read')) };
}

async function replayDeadLetter(call: AdminCall): Promise<AdminReply> {
  const engine = call.ctx.batches;
  if (!engine) throw new GatewayError('control_plane_unavailable', 'The batch runner is not running on this replica. Retry later.', { retryAfterMs: 5_000 });
  const replayed = await call.db.transaction(async (tx) => {
    const row = await find(call, tx as unknown as ControlDb, 'batch.write');
    // Items run only within their batch's completion window: past it, a replayed item would end as expired at once.
    if (row.expiresAt !== null && row.expiresAt.getTime() <= call.now.getTime()) {
      throw new GatewayError('resource_conflict', `Batch ${row.batchId}'s completion window ended at ${row.expiresAt.toISOString()}: its items can no longer run. Drop the dead letter, or send the request again in a new batch.`);
    }
    // A cancelled batch runs nothing more: a replayed item would never run nor be in its files.
    if (!replayable.has(row.batchStatus as 'in_progress')) {
      throw new GatewayError('resource_conflict', `Batch ${row.batchId} is ${row.batchStatus}: its items no longer run. Drop the dead letter, or send the request again in a new batch.`);
    }
    // Conditional on it being on the list still: two admins replaying at once replay it once.
    if (!(await replayItem(tx as unknown as ControlDb, row.batchId, row.line))) throw notFound(row.batchId, row.line);
    await appendAudit(tx, [call.audit({ action: 'batch.dead_letter.replayed', targetType: 'batch_item', targetId: `${row.batchId}/${row.line}`, before: view(row) })], call.now);
    return row;
  });
  await engine.requeue(replayed.batchId, replayed.line);
  return { status: 202, body: view(replayed) };
}

async function dropDeadLetter(call: AdminCall): Promise<AdminReply> {
  const dropped = await call.db.transaction(async (tx) => {
    const row = await find(call, tx as unknown as ControlDb, 'batch.write');
    const done = await tx
      .update(batchItems)
      .set({ deadLetteredAt: null })
      .where(and(eq(batchItems.batchId, row.batchId), eq(batchItems.line, row.line), sql`${batchItems.deadLetteredAt} IS NOT NULL`))
      .returning({ line: batchItems.line });
    if (done.length === 0) throw notFound(row.batchId, row.line);
    await appendAudit(tx, [call.audit({ action: 'batch.dead_letter.dropped', targetType: 'batch_item', targetId: `${row.batchId}/${row.line}`, before: view(row) })], call.now);
    return row;
  });
  return { status: 200, body: view(dropped) };
}
