import { and, asc, desc, eq, gt, gte, lt, type SQL } from 'drizzle-orm';
import { auditEntryJson, storableText } from '../control/audit.js';
import { parseAnchor, verifyAudit, type AuditAnchor } from '../control/audit-verify.js';
import { auditLog } from '../control/store/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import { auditEntryView, listOf, meView, verifyView } from './bodies.js';
import type { AdminCall, AdminReply, AdminRoute } from './context.js';
import { intParam } from './helpers.js';

const filters: Readonly<Record<string, string>> = {
  actor: 'Only entries by this actor (a subject, key id, `bootstrap`).',
  action: 'Only this action, e.g. `key.revoked`.',
  targetType: '`team`, `key` or `user`.',
  targetId: 'Only entries about this team name, key id or user id.',
  since: 'RFC 3339: entries at or after this instant.',
  until: 'RFC 3339: entries before this instant.',
  cursor: 'Continue from the `nextCursor` of the previous page.',
  limit: 'Entries per page, 1-1000 (default 100; export: up to 100000, default 10000, and at most about 8 MiB per response).',
};

export const auditRoutes: AdminRoute[] = [
  { method: 'GET', path: '/audit', summary: 'Audit entries, newest first (filters; paginated)', action: 'audit.read', query: { ...filters, order: '`desc` (default) or `asc`.' }, status: 200, response: listOf(auditEntryView), handle: listAudit },
  {
    method: 'GET',
    path: '/audit/verify',
    summary: 'Walk the hash chain; report the first entry changed, removed or reordered',
    action: 'audit.read',
    query: { anchor: '`SEQ:HASH` saved from an earlier verify (its `head`) or export; repeatable (up to 100). Reveals a rewrite of the whole chain and its head.' },
    status: 200,
    response: verifyView,
    handle: verify,
  },
  { method: 'GET', path: '/audit/export', summary: 'Audit entries as JSON lines, oldest first', action: 'audit.read', query: filters, status: 200, response: 'ndjson', handle: exportAudit },
  { method: 'GET', path: '/me', summary: 'Who the caller is and which roles they hold', action: 'any', status: 200, response: meView, handle: me },
];

/** The entry filters of a query (shared with `llm-gateway audit export`). */
export function conditions(query: URLSearchParams): SQL[] {
  const out: SQL[] = [];
  const text = (name: string, column: typeof auditLog.actor | typeof auditLog.action | typeof auditLog.targetType | typeof auditLog.targetId): void => {
    const v = query.get(name);
    if (v === null) return;
    if (v.length > 256) throw new GatewayError('invalid_request', `${name}: must be at most 256 characters.`, { param: name });
    // As the log stores it (a NUL would make PostgreSQL refuse the query).
    out.push(eq(column, storableText(v)));
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

function cursorOf(query: URLSearchParams): number | undefined {
  const raw = query.get('cursor');
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new GatewayError('invalid_request', 'cursor: must be the nextCursor of a previous page.', { param: 'cursor' });
  return n;
}

const view = auditEntryJson;

const MAX_ANCHORS = 100;

function anchorsOf(query: URLSearchParams): AuditAnchor[] {
  const raw = query.getAll('anchor');
  if (raw.length > MAX_ANCHORS) throw new GatewayError('invalid_request', `anchor: at most ${MAX_ANCHORS}.`, { param: 'anchor' });
  return raw.map((text) => {
    const anchor = parseAnchor(text);
    if (!anchor) throw new GatewayError('invalid_request', 'anchor: must be SEQ:HASH, an entry number and its 64-character hex hash.', { param: 'anchor' });
    return anchor;
  });
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
  return { status: 200, body: await verifyAudit(call.db, { anchors: anchorsOf(call.query) }) };
}

const EXPORT_PAGE = 250;
/** A response stops at the entry that reaches this many characters (about bytes): at most this plus one entry. */
export const EXPORT_MAX_BYTES = 8 * 1024 * 1024;

/** JSON lines, oldest first, bounded per response: `x-next-cursor` continues where it stopped. */
async function exportAudit(call: AdminCall): Promise<AdminReply> {
  call.require('audit.read');
  const limit = intParam(call.query, 'limit', 10_000, 100_000);
  const where = conditions(call.query);
  const cursor = cursorOf(call.query);
  const lines: string[] = [];
  let bytes = 0;
  let last = cursor ?? 0;
  let exhausted = false;
  // Small pages, so the database never returns much at once, and a byte budget per response:
  // an entry can hold two 64 KiB bodies, so a count alone would not bound the response.
  while (!exhausted && lines.length < limit && bytes < EXPORT_MAX_BYTES) {
    const want = Math.min(EXPORT_PAGE, limit - lines.length);
    const rows = await call.db.select().from(auditLog).where(and(...where, gt(auditLog.seq, last))).orderBy(asc(auditLog.seq)).limit(want);
    let taken = 0;
    for (const r of rows) {
      if (bytes >= EXPORT_MAX_BYTES) break;
      const line = JSON.stringify(view(r));
      lines.push(line);
      bytes += line.length + 1;
      last = r.seq;
      taken += 1;
    }
    exhausted = rows.length < want && taken === rows.length;
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
