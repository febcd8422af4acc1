// CPU per request of tracing as the request flow drives it (one server span, one attempt span,
// two events, the end), after `npm run build`:
//   taskset -c 1 node bench/micro/tracing.mjs
// Modes: off (no client traceparent), off with one (passed through), on at ratio 0 (spans made
// but not recorded), on at 100 % exporting OTLP/protobuf to a sink in another process (its CPU
// not counted): span making, batching, serializing and sending, all on this process's CPU.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { createOtelTracer } = await import(join(root, 'dist', 'observability', 'otel-tracer.js'));
const { passThroughTracer } = await import(join(root, 'dist', 'observability', 'tracer.js'));
const { resolveConfig } = await import(join(root, 'dist', 'config', 'load.js'));

const sink = spawn(process.execPath, [join(root, 'bench', 'lib', 'otlp-sink.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((r) => sink.stdout.once('data', (d) => r(JSON.parse(String(d)).port)));
const N = 50_000;
const base = { deployments: { d: { provider: 'openai', baseUrl: 'http://127.0.0.1:9' } }, models: { m: { targets: [{ deployment: 'd', model: 'x' }] } } };
const target = { alias: 'm', upstreamModel: 'gpt-4o-mini', deployment: { name: 'd', genAiProvider: 'openai', serverAddress: '127.0.0.1', serverPort: 9 } };
const finished = {
  requestId: 'r', route: '/v1/chat/completions', operation: 'chat', tenant: 't', model: 'm', servedModel: 'm', deployment: 'd', attempts: 1, status: 200, outcome: 'success',
  errorCode: undefined, stream: false, durationMs: 1, timeToFirstTokenMs: undefined, upstreamMs: 1, usage: { promptTokens: 10, completionTokens: 5, estimated: false },
  upstream: { genAiProvider: 'openai', upstreamModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini', serverAddress: '127.0.0.1', serverPort: 9 },
};
const withParent = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

function request(tracer, headers) {
  const t = tracer.startRequest({ requestId: 'r', route: '/v1/chat/completions', operation: 'chat', headers, startMs: performance.now() });
  if (t.recording) t.event('gateway.admitted', { 'gateway.model': 'm', 'gateway.admission.duration_ms': 0.01 });
  const a = t.startAttempt(target, 1);
  a.end({ outcome: 'success', status: 200, responseModel: 'gpt-4o-mini', stream: false });
  t.event('gateway.commit');
  t.end(finished, t.recording ? { finishReasons: ['stop'], responseId: 'chatcmpl-1' } : undefined);
}

async function run(label, tracer, headers) {
  for (let i = 0; i < N / 5; i++) request(tracer, headers); // warm up
  await new Promise((r) => setTimeout(r, 500));
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    request(tracer, headers);
    // Let the exporter run as it would between requests.
    if (i % 100 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  await tracer.shutdown(30_000);
  const c = process.cpuUsage(c0);
  console.log(`${label}: ${((c.user + c.system) / N).toFixed(2)} us/request`);
}

const on = (ratio) => {
  const cfg = resolveConfig({ ...base, tracing: { enabled: true, endpoint: `http://127.0.0.1:${port}/v1/traces`, samplingRatio: ratio, maxQueueSize: 65536, maxExportBatchSize: 2048 } }, {});
  let dropped = 0;
  const tracer = createOtelTracer(cfg.tracing, { version: 'bench', onDropped: (_r, n) => (dropped += n), onExportError: () => undefined });
  return { tracer, dropped: () => dropped };
};

/** No tracing calls at all: the loop's own cost, to subtract from the others. */
const none = { startRequest: () => ({ recording: false, event() {}, startAttempt: () => ({ end() {} }), end() {} }), shutdown: () => Promise.resolve() };
await run('baseline (the loop, no tracer)', none, {});
await run('off, no traceparent', passThroughTracer, {});
await run('off, client traceparent passed through', passThroughTracer, withParent);
await run('on, ratio 0 (not recorded)', on(0).tracer, {});
const full = on(1);
await run('on, 100 % sampled, OTLP/protobuf export', full.tracer, {});
if (full.dropped() > 0) console.log(`(${full.dropped()} spans dropped)`);
sink.kill();
