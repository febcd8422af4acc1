// CPU and garbage per access-log line (observability/access-log.ts), the line built and handed
// to a stream that drops it:
//   taskset -c 1 node bench/micro/access-log-line.mjs [distDir]
// distDir defaults to dist; pass another build (node_modules/.cache/dist-baseline) to compare.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';

const dist = resolve(process.argv[2] ?? 'dist');
const { accessLogWriter } = await import(pathToFileURL(`${dist}/observability/access-log.js`).href);
const write = accessLogWriter(pino({ level: 'info', base: { service: 'llm-gateway' } }, { write() {} }));
const event = (i) => ({
  requestId: `0b8f0a7e-5a5e-4bb4-9f0e-${String(i).padStart(12, '0')}`,
  route: '/v1/chat/completions',
  operation: 'chat',
  tenant: `tenant-${i % 100}`,
  model: 'bench-model',
  servedModel: 'bench-model',
  deployment: `upstream-${(i % 3) + 1}`,
  attempts: 1,
  status: 200,
  outcome: 'success',
  errorCode: undefined,
  stream: false,
  durationMs: 1.2345,
  timeToFirstTokenMs: undefined,
  upstreamMs: 0.8123,
  traceId: undefined,
  usage: { promptTokens: 38, completionTokens: 24, cachedTokens: 0, reasoningTokens: 0, estimated: false },
  // A model name parsed from each upstream body: a new string every time, as in the gateway.
  upstream: { genAiProvider: 'openai', upstreamModel: 'bench-upstream-model', responseModel: JSON.parse('"bench-upstream-model"'), serverAddress: '127.0.0.1', serverPort: 8000 },
  costPico: 20_100_000,
});
const events = Array.from({ length: 1000 }, (_, i) => event(i));
for (let i = 0; i < 200_000; i++) write(events[i % 1000]);
for (let round = 0; round < 3; round++) {
  const n = 1_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) write(events[i % 1000]);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  process.stdout.write(`${ns.toFixed(0)} ns per line\n`);
}
