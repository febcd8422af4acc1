// CPU per request of the live console's aggregator (one more event sink, always on when the
// admin API is), and of one open console's tick (serialized once a second), against the
// metrics sink for scale (needs `npm run build` first):
//   taskset -c 1 node bench/micro/live-aggregator.mjs
import { LiveAggregator } from '../../dist/observability/live/live-aggregator.js';
import { GatewayMetrics } from '../../dist/observability/metrics.js';

const clock = { nowMs: () => performance.now(), wallMs: () => Date.now() };
const att = { requestId: 'r', alias: 'bench-model', deployment: 'upstream-1', genAiProvider: 'openai', upstreamModel: 'bench-upstream-model', responseModel: 'bench-upstream-model', serverAddress: '127.0.0.1', serverPort: 9001, operation: 'chat', attempt: 1, outcome: 'success', status: 200, durationMs: 0.8 };
const fin = { requestId: 'r', route: '/v1/chat/completions', operation: 'chat', tenant: 'tenant-1', model: 'bench-model', servedModel: 'bench-model', deployment: 'upstream-1', attempts: 1, status: 200, outcome: 'success', errorCode: undefined, stream: true, durationMs: 1.2, timeToFirstTokenMs: 0.9, upstreamMs: 0.8, usage: { promptTokens: 38, completionTokens: 24, estimated: false }, upstream: { genAiProvider: 'openai', upstreamModel: 'bench-upstream-model', responseModel: 'bench-upstream-model', serverAddress: '127.0.0.1', serverPort: 9001 }, costPico: 123456 };
const N = 200000;
// The bench's load is a few thousand requests a second: a tick per 3,000 requests is about that.
const PER_TICK = 3000;

function run(label, sink, perTick) {
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      sink.attemptFinished(att);
      sink.requestFinished({ ...fin, durationMs: 1 + (i % 50), model: i % 7 === 0 ? 'other-model' : 'bench-model' });
      if (perTick && i % PER_TICK === PER_TICK - 1) perTick(i);
    }
    const c = process.cpuUsage(c0);
    console.log(`${((c.user + c.system) / N).toFixed(3)} us/request ${label}`);
  }
}

run('metrics sink (for scale)', new GatewayMetrics({ version: 'x', deployments: ['upstream-1'] }));
const quiet = new LiveAggregator({ clock });
run('live aggregator, no console open (tick once a second, no listener)', quiet, (i) => quiet.tick(i));
const watched = new LiveAggregator({ clock });
let bytes = 0;
watched.onTick((t) => (bytes += `event: tick\ndata: ${JSON.stringify(t)}\n\n`.length));
run('live aggregator, one console open (tick serialized)', watched, (i) => watched.tick(i));
console.log(`tick size ~${Math.round(bytes / ((3 * N) / PER_TICK))} bytes`);
const h0 = process.cpuUsage();
for (let i = 0; i < 300; i++) JSON.stringify({ intervalMs: 1000, ticks: watched.history() });
const h = process.cpuUsage(h0);
console.log(`${((h.user + h.system) / 300 / 1000).toFixed(2)} ms to serialize the 300-tick history (once per console opened)`);
