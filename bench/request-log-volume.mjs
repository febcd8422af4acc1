// The request log at volume (issue 12): is the spend query for one team-month, and a filtered
// request-log page, under 100 ms with 10 million rows? Run by hand, once (heavy: several minutes
// of a 2-core machine and ~4 GB of disk, given back at the end); not part of `npm test`.
//
//   npm run build && node bench/request-log-volume.mjs [--rows 10000000] [--days 60] [--teams 200]
//        [--url postgres://postgres@127.0.0.1:5432/test]
//
// Makes a database of its own on the server (dropped at the end, also on failure), applies the
// gateway's migrations (from dist/), makes one partition per day, and fills them server-side
// (INSERT … SELECT from generate_series, a day at a time) through the same statement shape the
// writer uses: the rows inserted feed the daily spend upsert in one CTE. Then VACUUM ANALYZE, and
// EXPLAIN ANALYZE of the queries the admin API runs. Prints a JSON summary; bench/analysis.md
// holds a run's numbers.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrations } from '../dist/control/store/migrations.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '60' },
    teams: { type: 'string', default: '200' },
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const ROWS = Number(values.rows);
const DAYS = Number(values.days);
const TEAMS = Number(values.teams);
// Bounded: this is a generator for one machine, not a load test of the disk.
if (!(ROWS > 0 && ROWS <= 50_000_000 && DAYS > 0 && DAYS <= 400 && TEAMS > 0 && TEAMS <= 100_000)) throw new Error('rows ≤ 50M, days ≤ 400, teams ≤ 100k');
const KEYS_PER_TEAM = 5;
const ALIASES = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet', 'claude-haiku', 'gemini-flash', 'gemini-pro', 'mistral-large', 'llama-70b'];

const name = `llmgw_bench_reqlog_${randomBytes(4).toString('hex')}`;
const adminUrl = values.url;
const dbUrl = new URL(adminUrl);
dbUrl.pathname = `/${name}`;

async function onAdmin(sql) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const day0 = new Date(Date.UTC(2026, 0, 1));
const dayText = (d) => new Date(day0.getTime() + d * 86_400_000).toISOString().slice(0, 10);

const fillDay = (d, n) => `
WITH s AS (
  SELECT i, floor(random() * ${TEAMS})::int AS t, floor(random() * ${KEYS_PER_TEAM})::int AS k,
    floor(random() * ${ALIASES.length})::int AS a, random() AS r, 100 + floor(random() * 3900)::int AS p,
    10 + floor(random() * 990)::int AS c, floor(random() * 2)::int AS dep
  FROM generate_series(1, ${n}) AS i
),
v AS (
  SELECT 'bench-${d}-' || i AS id,
    '${dayText(d)}T00:00:00Z'::timestamptz + (i * (86400000.0 / ${n})) * interval '1 millisecond' AS started_at,
    'key_' || lpad((t * ${KEYS_PER_TEAM} + k)::text, 16, '0') AS key_id, 'team-' || t AS team,
    (ARRAY[${ALIASES.map((x) => `'${x}'`).join(',')}])[a + 1] AS alias,
    (ARRAY[${ALIASES.map((x) => `'${x}'`).join(',')}])[a + 1] || '-' || dep AS deployment,
    CASE WHEN r < 0.02 THEN 429 WHEN r < 0.03 THEN 502 ELSE 200 END AS status, p, c
  FROM s
),
ins AS (
  INSERT INTO request_log (id, started_at, key_id, team, "user", alias, served_alias, deployment, operation, stream,
    attempts, status, outcome, error_code, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
    reasoning_tokens, usage_estimated, cost_pico, duration_ms, ttft_ms, upstream_ms, detail)
  SELECT id, started_at, key_id, team, NULL, alias, alias, CASE WHEN status = 429 THEN NULL ELSE deployment END, 'chat', false,
    1, status, CASE status WHEN 200 THEN 'success' WHEN 429 THEN 'rate_limited' ELSE 'upstream_error' END,
    CASE status WHEN 200 THEN NULL WHEN 429 THEN 'rate_limit_exceeded' ELSE 'upstream_error' END,
    CASE WHEN status = 200 THEN p END, CASE WHEN status = 200 THEN c END, CASE WHEN status = 200 THEN 0 END, NULL,
    CASE WHEN status = 200 THEN 0 END, false, CASE WHEN status = 200 THEN p::bigint * 2500000 + c::bigint * 10000000 END,
    200 + c, NULL, 180 + c,
    CASE WHEN status = 429 THEN '{}'::jsonb ELSE jsonb_build_object('attempts', jsonb_build_array(jsonb_build_object('attempt', 1, 'deployment', deployment, 'outcome', CASE status WHEN 200 THEN 'success' ELSE 'server_error' END, 'status', status, 'durationMs', 180 + c))) END
  FROM v
  ON CONFLICT DO NOTHING
  RETURNING started_at, team, key_id, alias, deployment, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_pico, usage_estimated
)
INSERT INTO spend_daily AS s (day, team, key_id, alias, deployment, requests, prompt_tokens, completion_tokens,
  cached_tokens, reasoning_tokens, cost_pico, unpriced_requests, estimated_requests)
SELECT (started_at AT TIME ZONE 'UTC')::date, coalesce(team, ''), coalesce(key_id, ''), alias, coalesce(deployment, ''),
  count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0),
  coalesce(sum(reasoning_tokens), 0), coalesce(sum(cost_pico), 0),
  count(*) FILTER (WHERE cost_pico IS NULL AND deployment IS NOT NULL), count(*) FILTER (WHERE usage_estimated)
FROM ins GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (day, team, key_id, alias, deployment) DO UPDATE SET
  requests = s.requests + excluded.requests, prompt_tokens = s.prompt_tokens + excluded.prompt_tokens,
  completion_tokens = s.completion_tokens + excluded.completion_tokens, cached_tokens = s.cached_tokens + excluded.cached_tokens,
  reasoning_tokens = s.reasoning_tokens + excluded.reasoning_tokens, cost_pico = s.cost_pico + excluded.cost_pico,
  unpriced_requests = s.unpriced_requests + excluded.unpriced_requests, estimated_requests = s.estimated_requests + excluded.estimated_requests`;

// The queries of the admin API (src/admin/spend-routes.ts), as drizzle sends them.
const team = 'team-42';
const monthFrom = dayText(DAYS - 31);
const monthTo = dayText(DAYS - 1);
const lastDay = `${dayText(DAYS - 1)}T23:59:59.999Z`;
const queries = {
  // GET /spend?team=team-42&from=…&to=…&group_by=model
  spendTeamMonthByModel: `SELECT alias, sum(requests)::text, sum(prompt_tokens)::text, sum(completion_tokens)::text, sum(cached_tokens)::text, sum(reasoning_tokens)::text, sum(cost_pico)::text, sum(unpriced_requests)::text, sum(estimated_requests)::text
    FROM spend_daily WHERE day >= '${monthFrom}' AND day < '${monthTo}' AND team = '${team}' GROUP BY alias ORDER BY alias LIMIT 10001`,
  // GET /spend?team=team-42&from=…&to=…&group_by=key,model,day (the most groups for one team)
  spendTeamMonthByKeyModelDay: `SELECT key_id, alias, day, sum(requests)::text, sum(prompt_tokens)::text, sum(completion_tokens)::text, sum(cached_tokens)::text, sum(reasoning_tokens)::text, sum(cost_pico)::text, sum(unpriced_requests)::text, sum(estimated_requests)::text
    FROM spend_daily WHERE day >= '${monthFrom}' AND day < '${monthTo}' AND team = '${team}' GROUP BY key_id, alias, day ORDER BY key_id, alias, day LIMIT 10001`,
  // GET /spend?from=…&to=…&group_by=team (every team, one month: an admin's overview)
  spendAllTeamsMonth: `SELECT team, sum(requests)::text, sum(prompt_tokens)::text, sum(completion_tokens)::text, sum(cached_tokens)::text, sum(reasoning_tokens)::text, sum(cost_pico)::text, sum(unpriced_requests)::text, sum(estimated_requests)::text
    FROM spend_daily WHERE day >= '${monthFrom}' AND day < '${monthTo}' GROUP BY team ORDER BY team LIMIT 10001`,
  // GET /requests?team=team-42&limit=100 (the newest page)
  requestsTeamPage: `SELECT * FROM request_log WHERE team = '${team}' ORDER BY started_at DESC, id DESC LIMIT 101`,
  // GET /requests?team=team-42&status=429&from=…&to=…&limit=100 (filtered)
  requestsTeamStatusMonthPage: `SELECT * FROM request_log WHERE team = '${team}' AND status = 429 AND started_at >= '${monthFrom}T00:00:00Z' AND started_at < '${monthTo}T00:00:00Z' ORDER BY started_at DESC, id DESC LIMIT 101`,
  // GET /requests?team=team-42&min_cost_usd=0.04&limit=100, a later page (cursor)
  requestsTeamCostCursorPage: `SELECT * FROM request_log WHERE team = '${team}' AND cost_pico >= 40000000000 AND (started_at, id) < ('${dayText(DAYS - 10)}T12:00:00Z'::timestamptz, 'bench-x') AND started_at <= '${dayText(DAYS - 10)}T12:00:00Z' ORDER BY started_at DESC, id DESC LIMIT 101`,
  // GET /requests?limit=100 (an admin: every team, newest first)
  requestsAllPage: `SELECT * FROM request_log ORDER BY started_at DESC, id DESC LIMIT 101`,
  // GET /requests/{id}: the id names its start (a UUIDv7), so the lookup is a primary-key probe
  requestById: `SELECT * FROM request_log WHERE started_at = (SELECT '${dayText(DAYS - 3)}T00:00:00Z'::timestamptz + (4242 * (86400000.0 / ${Math.ceil(ROWS / DAYS)})) * interval '1 millisecond') AND id = 'bench-${DAYS - 3}-4242'`,
};

const summary = { rows: ROWS, days: DAYS, teams: TEAMS, database: name, lastDay };
await onAdmin(`CREATE DATABASE ${name}`);
const c = new pg.Client({ connectionString: dbUrl.toString() });
try {
  await c.connect();
  for (const m of migrations) await c.query(m.sql);
  for (let d = 0; d < DAYS + 1; d++) await c.query(`CREATE TABLE request_log_${dayText(d).replaceAll('-', '')} PARTITION OF request_log FOR VALUES FROM ('${dayText(d)} 00:00:00+00') TO ('${dayText(d + 1)} 00:00:00+00')`);
  await c.query('SELECT setseed(0.42)');
  const perDay = Math.ceil(ROWS / DAYS);
  const fillStarted = performance.now();
  for (let d = 0; d < DAYS; d++) {
    const n = Math.min(perDay, ROWS - d * perDay);
    if (n <= 0) break;
    await c.query(fillDay(d, n));
    if (d % 10 === 9) console.error(`[request-log-volume] ${d + 1}/${DAYS} days filled (${Math.round((performance.now() - fillStarted) / 1000)} s)`);
  }
  summary.fillSeconds = Math.round((performance.now() - fillStarted) / 1000);
  const vacuumStarted = performance.now();
  await c.query('VACUUM ANALYZE');
  summary.vacuumAnalyzeSeconds = Math.round((performance.now() - vacuumStarted) / 1000);
  const [counts] = (await c.query("SELECT (SELECT count(*) FROM request_log)::bigint AS log_rows, (SELECT count(*) FROM spend_daily)::bigint AS spend_rows, (SELECT sum(requests) FROM spend_daily)::bigint AS spend_requests, pg_size_pretty(pg_database_size(current_database())) AS size")).rows;
  summary.counts = counts;
  summary.queries = {};
  for (const [label, sql] of Object.entries(queries)) {
    const times = [];
    let plan;
    // The first run reads from disk or the OS cache; the others show the steady state.
    for (let i = 0; i < 4; i++) {
      const res = await c.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`);
      const p = res.rows[0]['QUERY PLAN'][0];
      times.push(Math.round((p['Planning Time'] + p['Execution Time']) * 100) / 100);
      plan ??= p;
    }
    const node = plan.Plan;
    summary.queries[label] = { msFirst: times[0], msWarm: Math.min(...times.slice(1)), rows: node['Actual Rows'], plan: planShape(node) };
  }
  summary.under100ms = Object.values(summary.queries).every((q) => q.msWarm < 100);
} finally {
  await c.end().catch(() => undefined);
  await onAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}
console.log(JSON.stringify(summary, null, 2));

/** The plan's node types, nested, with the index each scan used (one line per distinct node). */
function planShape(node, depth = 0, out = [], seen = new Set()) {
  const line = `${'  '.repeat(depth)}${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name'].replace(/^request_log_\d{8}_/, 'request_log_*_')}` : ''}`;
  const key = line.replace(/request_log_\d{8}/g, 'request_log_*');
  if (!seen.has(key)) {
    seen.add(key);
    out.push(key);
  }
  for (const child of node.Plans ?? []) planShape(child, depth + 1, out, seen);
  return out;
}
