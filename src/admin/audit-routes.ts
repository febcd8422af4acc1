import { and, asc, desc, eq, gt, gte, lt, type SQL } from 'drizzle-orm';
import { verifyAudit } from '../control/audit.js';
import { auditLog } from '../control/store/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import { auditEntryView, listOf, meView, verifyView } from './bodies.js';
import type { AdminCall, AdminReply, AdminRoute } from './context.js';

const filters: Readonly<Record<string, string>> = {
  actor: 'Only entries by this actor (a subject, key id, `bootstrap`).',
  action: 'Only this action, e.g. `key.revoked`.',
  targetType: '`team`, `key` or `user`.',
  targetId: 'Only entries about this team name, key id or user id.',
  since: 'RFC 3339: entries at or after this instant.',
  until: 'RFC 3339: entries before this instant.',
  cursor: 'Continue from the `nextCursor` of the previous page.',
  limit: 'Entries per page, 1-1000 (default 100; export: up to 100000, default 10000).',
};

export const auditRoutes: AdminRoute[] = [
  { method: 'GET', path: '/audit', summary: 'Audit entries, newest first (filters; paginated)', action: 'audit.read', query: { ...filters, order: '`desc` (default) or `asc`.' }, status: 200, response: listOf(auditEntryView), handle: listAudit },
  { method: 'GET', path: '/audit/verify', summary: 'Walk the hash chain; report the first entry changed, removed or reordered', action: 'audit.read', status: 200, response: verifyView, handle: verify },
  { method: 'GET', path: '/audit/export', summary: 'Audit entries as JSON lines, oldest first', action: 'audit.read', query: filters, status: 200, response: 'ndjson', handle: exportAudit },
  { method: 'GET', path: '/me', summary: 'Who the caller is and which roles they hold', action: 'any', status: 200, response: meView, handle: me },
];

function conditions(query: URLSearchParams): SQL[] {
  const out: SQL[] = [];
  const text = (name: string, column: typeof auditLog.actor | typeof auditLog.action | typeof auditLog.targetType | typeof auditLog.targetId): void => {
    const v = query.get(name);
    if (v === null) return;
    if (v.length > 256) throw new GatewayError('invalid_request', `${name}: must be at most 256 characters.`, { param: name });
    out.push(eq(column, v));
  };
  text('actor', auditLog.actor);
  text('action', auditLog.action);
  text('targetType', auditLog.targetType);
  text('targetId', auditLog.targetId);
  const time = (name: string): Date | undefined => {
    const v = query.get(name);
    if (v === null) return undefined;
    const d = new Date(v);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(d.getTime())) throw new GatewayError('invalid_request', `${name}: must be an RFC 3339 date-time such as 2026-12-01T00:00:00Z.`, { param: name });
    return d;
  };
  const since = time('since');
  const until = time('until');
  if (since) out.push(gte(auditLog.at, since));
  if (until) out.push(lt(auditLog.at, until));
  return out;
}

function intParam(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new GatewayError('invalid_request', `${name}: must be an integer from 1 to ${max}.`, { param: name });
  return n;
}

function cursorOf(query: URLSearchParams): number | undefined {
  const raw = query.get('cursor');
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new GatewayError('invalid_request', 'cursor: must be the nextCursor of a previous page.', { param: 'cursor' });
  return n;
}

function view(e: typeof auditLog.$inferSelect): Record<string, unknown> {
  return { ...e, at: e.at.toISOString() };
}

async function listAudit(call: AdminCall): Promise<AdminReply> {
  call.require('audit.read');
  const order = call.query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new GatewayError('invalid_request', 'order: must be asc or desc.', { param: 'order' });
  const limit = intParam(call.query, 'limit', 100, 1_000);
  const where = conditions(call.query);
  const cursor = cursorOf(call.query);
  if (cursor !== undefined) where.push(order === 'asc' ? gt(auditLog.seq, cursor) : lt(auditLog.seq, cursor));
  const rows = await call.db
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(order === 'asc' ? asc(auditLog.seq) : desc(auditLog.seq))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return { status: 200, body: { object: 'list', data: page.map(view), nextCursor: rows.length > limit ? String(page.at(-1)?.seq) : null } };
}

async function verify(call: AdminCall): Promise<AdminReply> {
  call.require('audit.read');
  return { status: 200, body: await verifyAudit(call.db) };
}

/**
 * Bytes of one export response. Entries are up to ~100 KB each (a key's before and after with
 * every field at its limit), so 100,000 of them could be gigabytes held in memory at once: the
 * response also stops here, and `x-next-cursor` continues.
 */
export const EXPORT_MAX_BYTES = 16 * 1024 * 1024;

/** JSON lines, oldest first, bounded per response (entries and bytes): `x-next-cursor` continues where it stopped. */
async function exportAudit(call: AdminCall): Promise<AdminReply> {
  call.require('audit.read');
  const limit = intParam(call.query, 'limit', 10_000, 100_000);
  const where = conditions(call.query);
  const cursor = cursorOf(call.query);
  const lines: string[] = [];
  let bytes = 0;
  let last = cursor ?? 0;
  let exhausted = false;
  // Pages of 100 (at most ~10 MB) so the database never returns the whole log at once.
  while (!exhausted && lines.length < limit && bytes < EXPORT_MAX_BYTES) {
    const want = Math.min(100, limit - lines.length);
    const rows = await call.db.select().from(auditLog).where(and(...where, gt(auditLog.seq, last))).orderBy(asc(auditLog.seq)).limit(want);
    exhausted = rows.length < want;
    for (const r of rows) {
      const line = JSON.stringify(view(r));
      lines.push(line);
      bytes += Buffer.byteLength(line) + 1;
      last = r.seq;
      if (bytes >= EXPORT_MAX_BYTES) {
        exhausted = false; // whether anything follows is asked below
        break;
      }
    }
  }
  const more = !exhausted && (await call.db.select({ seq: auditLog.seq }).from(auditLog).where(and(...where, gt(auditLog.seq, last))).limit(1)).length > 0;
  return { status: 200, contentType: 'application/x-ndjson', body: lines.length === 0 ? '' : `${lines.join('\n')}\n`, headers: more ? { 'x-next-cursor': String(last) } : {} };
}

async function me(call: AdminCall): Promise<AdminReply> {
  const { actor } = call;
  return {
    status: 200,
    body: { actor: actor.audit.id, actorType: actor.audit.type, role: actor.globalRole ?? null, teams: [...actor.teamRoles].map(([team, role]) => ({ team, role })) },
  };
}
