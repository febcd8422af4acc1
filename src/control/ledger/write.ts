import { sql } from 'drizzle-orm';
import type { ControlStore } from '../store/store.js';
import type { LedgerRow } from './row.js';

/**
 * The one statement that files a batch: insert the rows (a row already there, by start time and
 * id, is skipped) and add only the rows actually inserted to the daily spend, in one CTE, so the
 * log and the spend cannot disagree and a replayed batch counts nothing twice.
 */
const INSERT_BATCH = `
WITH v AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(
    id text, "startedAt" timestamptz, "keyId" text, team text, "user" text, alias text, "servedAlias" text,
    deployment text, operation text, stream boolean, attempts integer, status integer, outcome text,
    "errorCode" text, "promptTokens" integer, "completionTokens" integer, "cachedTokens" integer,
    "cacheWriteTokens" integer, "reasoningTokens" integer, "usageEstimated" boolean, "costPico" bigint,
    "durationMs" integer, "ttftMs" integer, "upstreamMs" integer, detail jsonb, payload jsonb, "attemptLog" jsonb, "traceId" text)
),
-- Payloads of the batch's rows (teams that store them); a replayed one is skipped like its row.
pay AS (
  INSERT INTO request_payloads (id, started_at, team, request, response, truncated, expires_at)
  SELECT id, "startedAt", payload->>'team', payload->>'request', payload->>'response', (payload->>'truncated')::boolean,
    (payload->>'expiresAt')::timestamptz
  FROM v WHERE payload IS NOT NULL
  ON CONFLICT DO NOTHING
  RETURNING 1
),
ins AS (
  INSERT INTO request_log (id, started_at, key_id, team, "user", alias, served_alias, deployment, operation, stream,
    attempts, status, outcome, error_code, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
    reasoning_tokens, usage_estimated, cost_pico, duration_ms, ttft_ms, upstream_ms, detail, attempt_log, trace_id)
  SELECT id, "startedAt", "keyId", team, "user", alias, "servedAlias", deployment, operation, stream,
    attempts, status, outcome, "errorCode", "promptTokens", "completionTokens", "cachedTokens", "cacheWriteTokens",
    "reasoningTokens", "usageEstimated", "costPico", "durationMs", "ttftMs", "upstreamMs", coalesce(detail, '{}'::jsonb),
    "attemptLog", "traceId"
  FROM v
  ON CONFLICT DO NOTHING
  RETURNING started_at, team, key_id, alias, deployment, prompt_tokens, completion_tokens, cached_tokens,
    reasoning_tokens, cost_pico, usage_estimated
),
spend AS (
  INSERT INTO spend_daily AS s (day, team, key_id, alias, deployment, requests, prompt_tokens, completion_tokens,
    cached_tokens, reasoning_tokens, cost_pico, unpriced_requests, estimated_requests)
  SELECT (started_at AT TIME ZONE 'UTC')::date, coalesce(team, ''), coalesce(key_id, ''), alias, coalesce(deployment, ''),
    count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0),
    coalesce(sum(reasoning_tokens), 0), coalesce(sum(cost_pico), 0),
    count(*) FILTER (WHERE cost_pico IS NULL AND deployment IS NOT NULL), count(*) FILTER (WHERE usage_estimated)
  FROM ins
  GROUP BY 1, 2, 3, 4, 5
  -- Every replica locks the spend rows it adds to in the same order: two batches cannot deadlock.
  ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (day, team, key_id, alias, deployment) DO UPDATE SET
    requests = s.requests + excluded.requests,
    prompt_tokens = s.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = s.completion_tokens + excluded.completion_tokens,
    cached_tokens = s.cached_tokens + excluded.cached_tokens,
    reasoning_tokens = s.reasoning_tokens + excluded.reasoning_tokens,
    cost_pico = s.cost_pico + excluded.cost_pico,
    unpriced_requests = s.unpriced_requests + excluded.unpriced_requests,
    estimated_requests = s.estimated_requests + excluded.estimated_requests
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS inserted`;

/** The partition of a UTC day (`2026-12-05` → `request_log_20261205`). */
export function partitionName(day: string): string {
  return `request_log_${day.replaceAll('-', '')}`;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** The day after `day`, as YYYY-MM-DD. */
function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

/**
 * Any 64-bit constant: "llm-gateway request_log partitions". Replicas making the same day's
 * partition at once take turns under it: the second finds it made (IF NOT EXISTS) instead of
 * failing on the catalogue's unique index.
 */
const PARTITION_LOCK = 5_120_733_901_822_614n;

/** Makes the partitions of `days` that do not exist yet (one transaction, under the lock). */
export async function ensurePartitions(store: ControlStore, days: Iterable<string>): Promise<void> {
  const wanted = [...new Set(days)].filter((d) => DAY.test(d)).sort();
  if (wanted.length === 0) return;
  await store.transaction(async (tx) => {
    await tx.rows('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK.toString()]);
    for (const day of wanted) {
      // Names and bounds come from the day pattern checked above: nothing else reaches the SQL.
      await tx.exec(`CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF request_log FOR VALUES FROM ('${day} 00:00:00+00') TO ('${nextDay(day)} 00:00:00+00')`);
    }
  });
}

/** The days that have a partition, oldest first. */
export async function partitionDays(store: ControlStore): Promise<string[]> {
  const rows = await store.transaction((tx) =>
    tx.rows<{ name: string }>("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'request_log'::regclass"),
  );
  return rows
    .map((r) => /^request_log_(\d{4})(\d{2})(\d{2})$/.exec(r.name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}-${m[2]}-${m[3]}`)
    .sort();
}

/**
 * Drops the partitions of days wholly older than `retentionDays` before `nowMs` (whole tables:
 * no scan, no bloat). Returns the days dropped. The daily spend is kept: it is small and is what
 * the spend API reads.
 */
export async function dropExpiredPartitions(store: ControlStore, retentionDays: number, nowMs: number): Promise<string[]> {
  const oldestKept = new Date(nowMs - retentionDays * DAY_MS).toISOString().slice(0, 10);
  const expired = (await partitionDays(store)).filter((d) => d < oldestKept);
  for (const day of expired) {
    await store.transaction(async (tx) => {
      await tx.rows('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK.toString()]);
      await tx.exec(`DROP TABLE IF EXISTS ${partitionName(day)}`);
    });
  }
  return expired;
}

/** Expired payloads deleted per statement (by the expiry index), and statements per run at most. */
const PAYLOAD_DELETE_BATCH = 10_000;
const PAYLOAD_DELETE_ROUNDS = 100;

/** Deletes the payloads whose retention has ended, in bounded batches; returns how many. */
export async function deleteExpiredPayloads(store: ControlStore, nowMs: number): Promise<number> {
  const now = new Date(nowMs).toISOString();
  let total = 0;
  for (let round = 0; round < PAYLOAD_DELETE_ROUNDS; round++) {
    const result = await store.db.execute(
      sql`WITH gone AS (DELETE FROM request_payloads WHERE (started_at, id) IN (SELECT started_at, id FROM request_payloads WHERE expires_at < ${now}::timestamptz LIMIT ${PAYLOAD_DELETE_BATCH}) RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    );
    const n = Number((result as unknown as { rows: Array<{ n: number }> }).rows[0]?.n ?? 0);
    total += n;
    if (n < PAYLOAD_DELETE_BATCH) break;
  }
  return total;
}

/** A failed insert because a row's day had no partition (made meanwhile by nobody, or dropped). */
export function isMissingPartition(err: unknown): boolean {
  const e = (err as { cause?: unknown })?.cause ?? err;
  const code = (e as { code?: unknown })?.code;
  const message = String((e as { message?: unknown })?.message ?? '');
  return code === '23514' && /no partition/i.test(message);
}

/**
 * Files `rows` (their days' partitions must exist): returns how many were new. Rows already
 * present (the same start time and id) are skipped and add nothing to the spend.
 */
export async function insertRows(store: ControlStore, rows: readonly LedgerRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  // One JSON parameter for the whole batch (drizzle would expand an array into a row of them).
  const [before, after] = INSERT_BATCH.split('$1') as [string, string];
  const result = await store.db.execute(sql`${sql.raw(before)}${JSON.stringify(rows)}${sql.raw(after)}`);
  return Number((result as unknown as { rows: Array<{ inserted: number }> }).rows[0]?.inserted ?? 0);
}
