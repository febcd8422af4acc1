// CPU per access-log line for pino destinations and redaction settings, written to a pipe:
//   taskset -c 1 node bench/micro/log-line.mjs stdout|async|buffered|buffered-top|buffered-nr | cat > /dev/null
// (-top: top-level and explicit nested redaction paths only; -nr: no redaction.)
import { pino } from 'pino';
const mode = process.argv[2];
const dest = mode === 'stdout' ? process.stdout : mode === 'async' ? pino.destination({ dest: 1, sync: false }) : pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 });
const base = { level: 'info', base: { service: 'llm-gateway' }, redact: { paths: ['authorization', '*.authorization', 'apiKey', '*.apiKey', 'api-key', 'x-api-key', 'cookie'], censor: '[redacted]' } };
const nored = mode.endsWith('nr'); const topOnly = mode.endsWith('top');
const l = pino(nored ? { level: 'info', base: { service: 'llm-gateway' } } : topOnly ? { ...base, redact: { paths: ['authorization', 'apiKey', 'api-key', 'x-api-key', 'cookie', 'headers.authorization', 'headers.cookie', 'headers["api-key"]', 'headers["x-api-key"]', 'deployment.apiKey'], censor: '[redacted]' } } : base, dest);
const rec = { requestId: '0b8f0a7e-5a5e-4bb4-9f0e-2f7d0d1c1a11', route: '/v1/chat/completions', tenant: 'tenant-1', model: 'bench-model', servedModel: 'bench-model', deployment: 'upstream-1', attempts: 1, status: 200, outcome: 'success', errorCode: undefined, stream: false, durationMs: 1.23, ttftMs: undefined, upstreamMs: 0.8, promptTokens: 38, completionTokens: 24, usageEstimated: false };
const N = 100000;
let i = 0;
const c0 = process.cpuUsage();
await new Promise((resolve) => {
  const step = () => { for (let k = 0; k < 100 && i < N; k++, i++) l.info(rec, 'request'); if (i < N) setImmediate(step); else resolve(); };
  step();
});
const c = process.cpuUsage(c0);
process.stderr.write(`${mode}: ${((c.user + c.system) / N).toFixed(2)} us/line\n`);
