import { and, desc, eq, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { requestLog, requestPayloads, spendDaily } from '../control/store/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import { requestIdTime } from '../http/request-id.js';
import { formatUsd, usdToPico } from '../spend/money.js';
import { readableTeams } from './access.js';
import type { AdminCall, AdminReply, AdminRoute } from './context.js';
import { csvDocument } from './csv.js';
import { intParam } from './helpers.js';

/**
 * Spend and the request log (issue 12): what was spent, by whom, on what, from `spend_daily`;
 * the requests themselves from `request_log`. Money leaves as exact decimal-dollar strings.
 * A team admin or team viewer sees their own team's only; an admin or viewer sees every team.
 */

const usd = z.string().describe('US dollars, an exact decimal string ("0.00042").');
const dimensions = ['team', 'key', 'model', 'deployment', 'day'] as const;
type Dimension = (typeof dimensions)[number];

const totals = {
  requests: z.number().int(),
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  cachedTokens: z.number().int(),
  reasoningTokens: z.number().int(),
  cost_usd: usd.describe('The cost of the priced requests, exact.'),
  unpricedRequests: z.number().int().describe('Served by a target with no known price: not in cost_usd.'),
  estimatedRequests: z.number().int().describe('Whose usage (and cost) the gateway estimated.'),
};

export const spendView = z.object({
  object: z.literal('spend'),
  from: z.string().describe('First day (UTC), inclusive.'),
  to: z.string().describe('Last day (UTC), exclusive.'),
  groupBy: z.array(z.enum(dimensions)),
  data: z.array(
    z.object({
      team: z.string().nullable().optional(),
      keyId: z.string().nullable().optional(),
      model: z.string().optional(),
      deployment: z.string().nullable().optional(),
      day: z.string().optional(),
      ...totals,
    }),
  ),
  total: z.object(totals),
});

const usageView = z.object({ promptTokens: z.number().int(), completionTokens: z.number().int(), cachedTokens: z.number().int(), cacheWriteTokens: z.number().int().nullable(), reasoningTokens: z.number().int(), estimated: z.boolean() });

export const requestView = z.object({
  id: z.string().describe('The x-gateway-request-id the client got.'),
  startedAt: z.string().describe('RFC 3339'),
  team: z.string().nullable(),
  keyId: z.string().nullable(),
  user: z.string().nullable(),
  model: z.string().describe('The alias asked for.'),
  servedModel: z.string().nullable(),
  deployment: z.string().nullable(),
  operation: z.string(),
  stream: z.boolean(),
  attempts: z.number().int(),
  status: z.number().int(),
  outcome: z.string(),
  errorCode: z.string().nullable(),
  usage: usageView.nullable(),
  cost_usd: usd.nullable().describe('Null: served by a target with no known price, or nothing served.'),
  durationMs: z.number().int(),
  ttftMs: z.number().int().nullable(),
  upstreamMs: z.number().int(),
  traceId: z.string().nullable().describe('The W3C trace id (32 hex) of the request, when it had one.'),
});

const attemptLogEntry = z.object({
  n: z.number().int().describe('1-based.'),
  alias: z.string(),
  deployment: z.string(),
  startMs: z.number().int().describe("Ms from the request's start."),
  durationMs: z.number().int(),
  outcome: z.string(),
  status: z.number().int().nullable().describe("The upstream's HTTP status, when it answered."),
  ttftMs: z.number().int().nullable().describe("Ms from the attempt's start to its first content (streams)."),
  next: z.enum(['retry', 'fallback']).nullable().describe('What the gateway did after this attempt.'),
  reason: z.string().nullable().describe('Why it failed: the classified outcome (`rate_limited`, `timeout`, …); null when it succeeded.'),
});

export const requestDetailView = requestView.extend({
  attemptLog: z.array(attemptLogEntry).describe("Each upstream attempt in order (at most 16): the request's timeline."),
  detail: z.object({
    attempts: z.array(z.object({ attempt: z.number().int(), deployment: z.string(), outcome: z.string(), status: z.number().int().nullable(), durationMs: z.number().int() })).optional(),
    retries: z.array(z.object({ fromDeployment: z.string(), reason: z.string(), delayMs: z.number().int() })).optional(),
    fallbacks: z.array(z.object({ from: z.string(), to: z.string() })).optional(),
    truncated: z.boolean().optional(),
  }),
  payload: z
    .object({ request: z.string(), response: z.string().nullable(), truncated: z.boolean(), expiresAt: z.string() })
    .nullable()
    .describe("The prompt and completion, redacted and cut to maxBytes: only for a team that stores them (payloads.store), until they expire."),
});

const requestList = z.object({ object: z.literal('list'), data: z.array(requestView), nextCursor: z.string().nullable() });

export const spendRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/spend',
    summary: 'Spend over a range of UTC days, grouped by team, key, model, deployment and/or day',
    action: 'spend.read',
    query: {
      from: 'First UTC day, YYYY-MM-DD, inclusive (default: the first of this month).',
      to: 'Last UTC day, YYYY-MM-DD, exclusive (default: tomorrow). At most 400 days after `from`.',
      group_by: 'Comma-separated: `team`, `key`, `model`, `deployment`, `day` (default `team`).',
      team: 'Only this team.',
      format: '`json` (default) or `csv` (a header row, then one row per group; also chosen by `Accept: text/csv`).',
    },
    status: 200,
    response: spendView,
    csv: true,
    handle: getSpend,
  },
  {
    method: 'GET',
    path: '/requests',
    summary: 'The request log, newest first (filters; paginated)',
    action: 'spend.read',
    query: {
      team: 'Only this team.',
      key: 'Only this key id.',
      model: 'Only this model alias (asked for).',
      status: 'Only this HTTP status.',
      outcome: 'Only this outcome (`success`, `rate_limited`, …).',
      from: 'RFC 3339: requests started at or after this instant.',
      to: 'RFC 3339: requests started before this instant.',
      min_cost_usd: 'Only requests that cost at least this many dollars (decimal).',
      limit: 'Requests per page, 1-1000 (default 100).',
      cursor: 'Continue from the `nextCursor` of the previous page.',
    },
    status: 200,
    response: requestList,
    handle: listRequests,
  },
  { method: 'GET', path: '/requests/{id}', summary: 'One request in full: attempts, retries, fallbacks, timings, tokens, cost', action: 'spend.read', status: 200, response: requestDetailView, handle: getRequest },
];

const MAX_SPEND_ROWS = 10_000;
const MAX_RANGE_DAYS = 400;
const DAY_MS = 86_400_000;

function badParam(name: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `${name}: ${message}`, { param: name });
}

/** A bounded text filter (as stored: no control characters reach here, admin-api refuses them). */
function textParam(query: URLSearchParams, name: string): string | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (v.length === 0 || v.length > 256) throw badParam(name, 'must be 1 to 256 characters.');
  return v;
}

function dayParam(query: URLSearchParams, name: string, fallback: string): string {
  const v = query.get(name) ?? fallback;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)) || new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) !== v) {
    throw badParam(name, 'must be a date such as 2026-12-01 (UTC days).');
  }
  return v;
}

/**
 * An instant PostgreSQL's timestamptz holds and this API can name: years 1 to 9999 (UTC). A
 * JavaScript Date reaches year ±275760 and an offset can push year 0000 or 9999 past the edge;
 * the database would refuse those with an error, not an empty page.
 */
function storableInstant(d: Date): boolean {
  const year = d.getUTCFullYear();
  return !Number.isNaN(d.getTime()) && year >= 1 && year <= 9999;
}

function instantParam(query: URLSearchParams, name: string): Date | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || !storableInstant(d)) throw badParam(name, 'must be an RFC 3339 date-time such as 2026-12-01T00:00:00Z.');
  return d;
}

/**
 * The team condition every query carries: the one asked for (the caller must be allowed it), or
 * the caller's readable teams (all for an admin or viewer), in the query itself.
 */
function teamScope(call: AdminCall, column: typeof spendDaily.team | typeof requestLog.team): SQL | undefined {
  const team = textParam(call.query, 'team');
  if (team !== undefined) {
    call.require('spend.read', team);
    return eq(column, team);
  }
  const visible = readableTeams(call.actor, 'spend.read');
  if (visible === 'all') return undefined;
  if (visible.size === 0) call.require('spend.read');
  return inArray(column, [...visible]);
}

/** `format=csv` (or `json`), else `Accept: text/csv` asks for CSV; anything else for `format` is a 400. */
function wantsCsv(call: AdminCall): boolean {
  const format = call.query.get('format');
  if (format === 'csv') return true;
  if (format === 'json') return false;
  if (format !== null) throw badParam('format', 'must be json or csv.');
  return /(^|,)\s*text\/csv\s*(;|,|$)/i.test(call.accept ?? '');
}

async function getSpend(call: AdminCall): Promise<AdminReply> {
  const csv = wantsCsv(call);
  const today = call.now.toISOString().slice(0, 10);
  const from = dayParam(call.query, 'from', `${today.slice(0, 8)}01`);
  const to = dayParam(call.query, 'to', new Date(call.now.getTime() + DAY_MS).toISOString().slice(0, 10));
  if (to <= from) throw badParam('to', 'must be after from.');
  if (Date.parse(to) - Date.parse(from) > MAX_RANGE_DAYS * DAY_MS) throw badParam('to', `at most ${MAX_RANGE_DAYS} days after from.`);
  const raw = (call.query.get('group_by') ?? 'team').split(',').map((s) => s.trim());
  const groupBy = [...new Set(raw)] as Dimension[];
  const unknown = groupBy.find((g) => !(dimensions as readonly string[]).includes(g));
  if (unknown !== undefined || groupBy.length === 0) throw badParam('group_by', `must be a comma-separated list of ${dimensions.join(', ')}.`);
  const columns = { team: spendDaily.team, key: spendDaily.keyId, model: spendDaily.alias, deployment: spendDaily.deployment, day: spendDaily.day };
  const where = [gte(spendDaily.day, from), lt(spendDaily.day, to)];
  const scope = teamScope(call, spendDaily.team);
  if (scope) where.push(scope);
  const grouped = groupBy.map((g) => columns[g]);
  const rows = (await call.db
    .select({
      ...Object.fromEntries(groupBy.map((g) => [g, columns[g]])),
      requests: sql<string>`sum(${spendDaily.requests})::text`,
      promptTokens: sql<string>`sum(${spendDaily.promptTokens})::text`,
      completionTokens: sql<string>`sum(${spendDaily.completionTokens})::text`,
      cachedTokens: sql<string>`sum(${spendDaily.cachedTokens})::text`,
      reasoningTokens: sql<string>`sum(${spendDaily.reasoningTokens})::text`,
      cost: sql<string>`sum(${spendDaily.costPico})::text`,
      unpriced: sql<string>`sum(${spendDaily.unpricedRequests})::text`,
      estimated: sql<string>`sum(${spendDaily.estimatedRequests})::text`,
    })
    .from(spendDaily)
    .where(and(...where))
    .groupBy(...grouped)
    .orderBy(...grouped)
    .limit(MAX_SPEND_ROWS + 1)) as unknown as Array<Record<string, string>>;
  if (rows.length > MAX_SPEND_ROWS) throw badParam('group_by', `more than ${MAX_SPEND_ROWS} groups: narrow the range, filter by team or group by less.`);
  const sum = { requests: 0n, promptTokens: 0n, completionTokens: 0n, cachedTokens: 0n, reasoningTokens: 0n, cost: 0n, unpriced: 0n, estimated: 0n };
  const data = rows.map((r) => {
    for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] += BigInt(r[k] ?? '0');
    return {
      ...(groupBy.includes('team') ? { team: r.team || null } : {}),
      ...(groupBy.includes('key') ? { keyId: r.key || null } : {}),
      ...(groupBy.includes('model') ? { model: r.model } : {}),
      ...(groupBy.includes('deployment') ? { deployment: r.deployment || null } : {}),
      ...(groupBy.includes('day') ? { day: r.day } : {}),
      ...totalsView(r),
    };
  });
  const total = totalsView(Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, v.toString()])));
  if (csv) {
    const keys = groupBy.map((g) => (g === 'key' ? 'keyId' : g));
    const header = [...keys, ...Object.keys(totals)];
    const body = csvDocument(header, data.map((row) => header.map((h) => (row as Record<string, string | number | null | undefined>)[h])));
    // from and to are checked YYYY-MM-DD days: nothing else reaches the header.
    return { status: 200, contentType: 'text/csv; charset=utf-8', body, headers: { 'content-disposition': `attachment; filename="spend-${from}-${to}.csv"` } };
  }
  return { status: 200, body: { object: 'spend', from, to, groupBy, data, total } };
}

function totalsView(r: Record<string, string | undefined>): Record<string, number | string> {
  const n = (k: string): number => Number(r[k] ?? '0');
  return {
    requests: n('requests'),
    promptTokens: n('promptTokens'),
    completionTokens: n('completionTokens'),
    cachedTokens: n('cachedTokens'),
    reasoningTokens: n('reasoningTokens'),
    cost_usd: formatUsd(BigInt(r.cost ?? '0')),
    unpricedRequests: n('unpriced'),
    estimatedRequests: n('estimated'),
  };
}

/** `nextCursor`: the last row's start time and id, so the next page starts strictly after it. */
function encodeCursor(startedAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([startedAt.toISOString(), id])).toString('base64url');
}

function decodeCursor(raw: string): { startedAt: Date; id: string } {
  try {
    if (raw.length > 1_024) throw new Error('long');
    const [at, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [unknown, unknown];
    const startedAt = new Date(String(at));
    // The id is compared as text: NUL (which PostgreSQL text refuses) or an id no request has is no cursor of ours.
    if (typeof at !== 'string' || typeof id !== 'string' || id.length > 256 || id.includes('\u0000') || !storableInstant(startedAt)) throw new Error('shape');
    return { startedAt, id };
  } catch {
    throw badParam('cursor', 'must be the nextCursor of a previous page.');
  }
}

type RequestRow = typeof requestLog.$inferSelect;

function requestJson(r: RequestRow): z.infer<typeof requestView> {
  return {
    id: r.id,
    startedAt: r.startedAt.toISOString(),
    team: r.team,
    keyId: r.keyId,
    user: r.user,
    model: r.alias,
    servedModel: r.servedAlias,
    deployment: r.deployment,
    operation: r.operation,
    stream: r.stream,
    attempts: r.attempts,
    status: r.status,
    outcome: r.outcome,
    errorCode: r.errorCode,
    usage:
      r.promptTokens === null
        ? null
        : { promptTokens: r.promptTokens, completionTokens: r.completionTokens ?? 0, cachedTokens: r.cachedTokens ?? 0, cacheWriteTokens: r.cacheWriteTokens, reasoningTokens: r.reasoningTokens ?? 0, estimated: r.usageEstimated },
    cost_usd: r.costPico === null ? null : formatUsd(r.costPico),
    durationMs: r.durationMs,
    ttftMs: r.ttftMs,
    upstreamMs: r.upstreamMs,
    traceId: r.traceId ?? null,
  };
}

async function listRequests(call: AdminCall): Promise<AdminReply> {
  const { query } = call;
  const limit = intParam(query, 'limit', 100, 1_000);
  const where: SQL[] = [];
  const scope = teamScope(call, requestLog.team);
  if (scope) where.push(scope);
  const key = textParam(query, 'key');
  if (key !== undefined) where.push(eq(requestLog.keyId, key));
  const model = textParam(query, 'model');
  if (model !== undefined) where.push(eq(requestLog.alias, model));
  const outcome = textParam(query, 'outcome');
  if (outcome !== undefined) where.push(eq(requestLog.outcome, outcome));
  const status = query.get('status');
  if (status !== null) {
    if (!/^[1-5]\d\d$/.test(status)) throw badParam('status', 'must be an HTTP status such as 429.');
    where.push(eq(requestLog.status, Number(status)));
  }
  const from = instantParam(query, 'from');
  const to = instantParam(query, 'to');
  if (from) where.push(gte(requestLog.startedAt, from));
  if (to) where.push(lt(requestLog.startedAt, to));
  const minCost = query.get('min_cost_usd');
  if (minCost !== null) {
    let pico: bigint;
    try {
      pico = usdToPico(minCost);
    } catch {
      throw badParam('min_cost_usd', 'must be a decimal amount of dollars such as 0.05.');
    }
    where.push(gte(requestLog.costPico, Number(pico > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : pico)));
  }
  const rawCursor = query.get('cursor');
  if (rawCursor !== null) {
    const c = decodeCursor(rawCursor);
    // Strictly after the cursor's row, newest first: a row comparison, which the (team,
    // started_at, id) and (started_at, id) indexes serve as a range (an OR would not), and a
    // plain bound on started_at, by which the planner skips the newer days' partitions.
    where.push(sql`(${requestLog.startedAt}, ${requestLog.id}) < (${c.startedAt}, ${c.id})`, lte(requestLog.startedAt, c.startedAt));
  }
  const rows = await call.db
    .select()
    .from(requestLog)
    .where(and(...where))
    .orderBy(desc(requestLog.startedAt), desc(requestLog.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { status: 200, body: { object: 'list', data: page.map(requestJson), nextCursor: rows.length > limit && last ? encodeCursor(last.startedAt, last.id) : null } };
}

async function getRequest(call: AdminCall): Promise<AdminReply> {
  const id = call.params[0] ?? '';
  if (id.length > 256) throw badParam('id', 'must be at most 256 characters.');
  // The id names the instant the row is filed under (a UUIDv7): one primary-key probe in one
  // partition. Any other id was never made by this gateway.
  const at = requestIdTime(id);
  const [row] = at === undefined ? [] : await call.db.select().from(requestLog).where(and(eq(requestLog.startedAt, new Date(at)), eq(requestLog.id, id)));
  if (!row) throw new GatewayError('resource_not_found', `No request '${id}'.`);
  // As for a key: another team's request is refused (a request with no team: global roles only).
  call.require('spend.read', row.team ?? undefined);
  const [payload] = await call.db
    .select({ request: requestPayloads.request, response: requestPayloads.response, truncated: requestPayloads.truncated, expiresAt: requestPayloads.expiresAt })
    .from(requestPayloads)
    .where(and(eq(requestPayloads.startedAt, row.startedAt), eq(requestPayloads.id, row.id), gte(requestPayloads.expiresAt, call.now)));
  return { status: 200, body: { ...requestJson(row), attemptLog: row.attemptLog ?? [], detail: row.detail, payload: payload ? { ...payload, expiresAt: payload.expiresAt.toISOString() } : null } };
}
