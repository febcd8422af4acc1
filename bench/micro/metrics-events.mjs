// CPU per request of the metric events one request emits (needs `npm run build` first):
//   taskset -c 1 node bench/micro/metrics-events.mjs
import { GatewayMetrics } from '../../dist/observability/metrics.js';
const m = new GatewayMetrics({ version: 'x', deployments: ['upstream-1', 'upstream-2', 'upstream-3'] });
const att = { requestId: 'r', alias: 'bench-model', deployment: 'upstream-1', genAiProvider: 'openai', upstreamModel: 'bench-upstream-model', serverAddress: '127.0.0.1', serverPort: 9001, operation: 'chat', attempt: 1, outcome: 'success', status: 200, durationMs: 0.8 };
const fin = { requestId: 'r', route: '/v1/chat/completions', operation: 'chat', tenant: 'tenant-1', model: 'bench-model', servedModel: 'bench-model', deployment: 'upstream-1', attempts: 1, status: 200, outcome: 'success', errorCode: undefined, stream: false, durationMs: 1.2, timeToFirstTokenMs: undefined, upstreamMs: 0.8, usage: { promptTokens: 38, completionTokens: 24, estimated: false }, upstream: { genAiProvider: 'openai', upstreamModel: 'bench-upstream-model', serverAddress: '127.0.0.1', serverPort: 9001 } };
const rl = { tenant: 'tenant-1', model: 'bench-model', kind: 'requests', allowed: true };
const N = 200000;
for (let r = 0; r < 3; r++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) { m.attemptFinished(att); m.rateLimitDecision(rl); m.rateLimitDecision({ ...rl, kind: 'tokens' }); m.requestFinished(fin); }
  const c = process.cpuUsage(c0);
  console.log(`${((c.user + c.system) / N).toFixed(2)} us/request of metrics`);
}
