// CPU of the request path's labelled-metric lookups (observability/labelled-metrics.ts), with the
// label sets one benchmark request touches (metrics.ts requestFinished and attemptFinished):
//   taskset -c 1 node bench/micro/labelled-lookup.mjs [distDir]
// distDir defaults to dist; pass another build (node_modules/.cache/dist-baseline) to compare.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import client from 'prom-client';

const dist = resolve(process.argv[2] ?? 'dist');
const { LabelledCounter } = await import(pathToFileURL(`${dist}/observability/labelled-metrics.js`).href);
const registry = new client.Registry();
const requests = new LabelledCounter('requests', 'h', ['route', 'model', 'status_class', 'outcome'], registry);
const overhead = new LabelledCounter('overhead', 'h', ['route'], registry);
const duration = new LabelledCounter('duration', 'h', ['operation', 'provider', 'model', 'response_model', 'error_type'], registry);
const tokens = new LabelledCounter('tokens', 'h', ['model', 'direction'], registry);
const clientTokens = new LabelledCounter('client_tokens', 'h', ['operation', 'provider', 'request_model', 'response_model', 'error_type', 'address', 'port', 'type'], registry);
const models = ['bench-model', 'other-model'];
const request = (i) => {
  const model = models[i & 1];
  const port = String(8000 + (i % 3));
  requests.labels('/v1/chat/completions', model, `${Math.floor(200 / 100)}xx`, 'success').inc();
  overhead.labels('/v1/chat/completions').inc();
  duration.labels('chat', 'openai', model, 'bench-upstream-model', '').inc();
  tokens.labels(model, 'input').inc(38);
  tokens.labels(model, 'output').inc(24);
  clientTokens.labels('chat', 'openai', 'bench-upstream-model', 'bench-upstream-model', '', '127.0.0.1', port, 'input').inc(38);
  clientTokens.labels('chat', 'openai', 'bench-upstream-model', 'bench-upstream-model', '', '127.0.0.1', port, 'output').inc(24);
};
for (let i = 0; i < 200_000; i++) request(i);
for (let round = 0; round < 3; round++) {
  const n = 1_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) request(i);
  process.stdout.write(`${(Number(process.hrtime.bigint() - t0) / n).toFixed(0)} ns per request (7 lookups)\n`);
}
