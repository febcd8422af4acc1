// CPU per request of the request log on the gateway process (needs `npm run build` first):
//   taskset -c 1 node bench/micro/request-log.mjs
// The ledger's event handlers (an attempt and the finished request: the row, its detail) and its
// share of a batched flush (the batch serialised as the INSERT's one JSON parameter). The store
// is a stand-in that answers at once: the database's own work is in its process (a server), or
// in PGlite's for the embedded one, and is not counted here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { RequestLedger } from '../../dist/control/ledger/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'ledger-micro-'));
const store = {
  kind: 'postgres',
  // insertRows serialises the batch before it calls execute: that part is counted.
  db: { execute: async () => ({ rows: [{ inserted: 1000 }] }) },
  transaction: async (fn) => fn({ exec: async () => undefined, rows: async () => [] }),
  onChange: () => undefined,
  close: async () => undefined,
};
const clock = { nowMs: () => performance.now(), wallMs: () => Date.now() };
const ledger = new RequestLedger({ flushMs: 3_600_000, batchRows: 1_000, maxBufferRows: 10_000, spoolDir: dir, maxSpoolBytes: 1 << 30, retentionDays: 30 }, { clock, logger: pino({ level: 'silent' }), store: () => store, events: () => undefined });
await ledger.start();
const att = { requestId: 'r', alias: 'bench-model', deployment: 'upstream-1', genAiProvider: 'openai', upstreamModel: 'm', responseModel: 'm', serverAddress: '127.0.0.1', serverPort: 9001, operation: 'chat', attempt: 1, outcome: 'success', status: 200, durationMs: 0.8 };
const fin = { requestId: 'r', route: '/v1/chat/completions', operation: 'chat', tenant: 'tenant-1', model: 'bench-model', servedModel: 'bench-model', deployment: 'upstream-1', attempts: 1, status: 200, outcome: 'success', errorCode: undefined, stream: false, durationMs: 1.2, timeToFirstTokenMs: undefined, upstreamMs: 0.8, usage: { promptTokens: 38, completionTokens: 24, cachedTokens: 0, reasoningTokens: 0, estimated: false }, upstream: undefined, costPico: 123_000, keyId: 'key_0123456789abcdef', user: undefined };
const N = 200_000;
for (let r = 0; r < 3; r++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const requestId = `req-${r}-${i}`;
    ledger.attemptFinished({ ...att, requestId });
    ledger.requestFinished({ ...fin, requestId });
    // A flush every 1,000 rows, as under load (awaited here so the buffer never fills).
    if (i % 1_000 === 999) await ledger.flush();
  }
  const c = process.cpuUsage(c0);
  console.log(`${((c.user + c.system) / N).toFixed(2)} us/request of request log (events, row, batch serialisation)`);
}
await ledger.close();
rmSync(dir, { recursive: true, force: true });
