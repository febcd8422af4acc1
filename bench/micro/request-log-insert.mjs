// What the attempt log (issue 13) adds to the embedded store's insert, the request log's biggest
// cost with PGlite: 20 batches of 1,000 rows into a throw-away embedded database, rows as the
// ledger makes them for a one-attempt success, interleaved: `detail` only (before issue 13),
// `both` (what is written now), and two alternatives, the attempt log alone (detail.attempts
// derived from it on read) and the log as tuples (needs `npm run build` first):
//   taskset -c 1 node bench/micro/request-log-insert.mjs
import { openStore } from '../../dist/control/store/open-store.js';
import { ensurePartitions, insertRows } from '../../dist/control/ledger/write.js';

const { store } = await openStore({ dataDir: ':memory:', poolSize: 1, connectTimeoutMs: 5_000, statementTimeoutMs: 60_000 }, () => undefined);
const day = new Date().toISOString().slice(0, 10);
await ensurePartitions(store, [day]);
let seq = 0;
const row = (variant) => ({
  id: `r-${seq++}`,
  startedAt: new Date().toISOString(),
  keyId: 'key_0123456789abcdef',
  team: 'tenant-1',
  user: null,
  alias: 'bench-model',
  servedAlias: 'bench-model',
  deployment: 'upstream-1',
  operation: 'chat',
  stream: false,
  attempts: 1,
  status: 200,
  outcome: 'success',
  errorCode: null,
  promptTokens: 38,
  completionTokens: 24,
  cachedTokens: 0,
  cacheWriteTokens: null,
  reasoningTokens: 0,
  usageEstimated: false,
  costPico: 123000,
  durationMs: 12,
  ttftMs: null,
  upstreamMs: 10,
  detail: variant === 'log-only' || variant === 'tuple-only' ? {} : { attempts: [{ attempt: 1, deployment: 'upstream-1', outcome: 'success', status: 200, durationMs: 10 }] },
  ...(variant === 'both' || variant === 'log-only' ? { attemptLog: [{ n: 1, alias: 'bench-model', deployment: 'upstream-1', startMs: 1, durationMs: 10, outcome: 'success', status: 200, ttftMs: null, next: null, reason: null }] } : {}),
  ...(variant === 'tuple-only' ? { attemptLog: [[1, 'bench-model', 'upstream-1', 1, 10, 'success', 200, null, null, null]] } : {}),
});
const variants = ['detail-only', 'both', 'log-only', 'tuple-only'];
const totals = Object.fromEntries(variants.map((v) => [v, 0]));
for (let b = 0; b < 20; b++) {
  for (const v of variants) {
    const rows = Array.from({ length: 1_000 }, () => row(v));
    const t0 = performance.now();
    await insertRows(store, rows);
    if (b >= 2) totals[v] += performance.now() - t0;
  }
}
for (const v of variants) console.log(`${v}: ${(totals[v] / 18).toFixed(1)} µs per row`);
await store.close();
