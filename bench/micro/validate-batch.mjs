// Longest event-loop stall while validateBatch turns a 50,000-line input file (~10 MB) into items
// on the embedded database, and while the same file is uploaded line-checked (needs `npm run build`):
//   node bench/micro/validate-batch.mjs
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openStore } from '../../dist/control/store/open-store.js';
import { batches, files } from '../../dist/control/store/schema.js';
import { newBatchId, newFileId } from '../../dist/batches/ids.js';
import { validateBatch } from '../../dist/batches/validate.js';

const LINES = 50_000;
const text = Array.from({ length: LINES }, (_, i) =>
  JSON.stringify({ custom_id: `request-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content: `Summarize item ${i}: ${'lorem ipsum '.repeat(12)}` }] } }),
).join('\n');
const content = Buffer.from(text);
const { store } = await openStore({ dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 60_000 }, () => undefined);
const now = new Date();
for (let run = 0; run < 3; run++) {
  const fileId = newFileId();
  const batchId = newBatchId();
  await store.db.insert(files).values({ id: fileId, team: 't', purpose: 'batch', filename: 'in.jsonl', bytes: content.length, content, createdBy: 'k', createdAt: now });
  await store.db.insert(batches).values({ id: batchId, team: 't', keyId: 'k', endpoint: '/v1/chat/completions', inputFileId: fileId, completionWindow: '24h', status: 'validating', total: 0, completed: 0, failed: 0, pending: 0, costPico: 0n, createdAt: now, expiresAt: new Date(now.getTime() + 86_400_000) });
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  const outcome = await validateBatch(store.db, batchId, { maxLines: LINES });
  const ms = performance.now() - t0;
  h.disable();
  console.log(`${outcome}: ${LINES} lines, ${(content.length / 1048576).toFixed(1)} MiB in ${ms.toFixed(0)} ms; event loop delay p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms`);
}
await store.close();
