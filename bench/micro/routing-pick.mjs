// What routing costs per request, strategy by strategy: one pick over 4 and 8 deployments with
// live load and latency history (ns per pick), a prompt's prefix blocks (an 8 KB chat prompt),
// one attempt's TargetStats.observe (stream and JSON), and a /metrics page filtered and parsed
// (the scraper's work, off the request path). Needs `npm run build`:
//   node bench/micro/routing-pick.mjs
import { createBalancer } from '../../dist/routing/balancers/create-balancer.js';
import { DeploymentLoad } from '../../dist/routing/deployment-load.js';
import { messagesPrefixBlocks } from '../../dist/routing/prefix.js';
import { RouteRequest } from '../../dist/routing/route-request.js';
import { TargetStats } from '../../dist/routing/target-stats.js';
import { readServerMetrics } from '../../dist/routing/upstream-metrics-parse.js';
import { vllmPage } from '../../dist/testing/server-metrics-pages.js';
import { seededRandom } from '../../dist/testing/seeded-random.js';
import parse from 'parse-prometheus-text-format';

const strategies = ['round_robin', 'weighted', 'priority', 'cost', 'least_latency', 'least_loaded', 'prefix_affinity', 'predicted_latency'];
const system = 'You are a meticulous assistant for an insurance company. '.repeat(100);
const messages = [{ role: 'system', content: system }, { role: 'user', content: 'Summarise the attached policy for a customer. '.repeat(40) }];

let clockMs = 0;
const clock = { nowMs: () => clockMs, wallMs: () => clockMs };

function fleet(n) {
  const random = seededRandom(n);
  return Array.from({ length: n }, (_, index) => {
    const stats = new TargetStats();
    const load = new DeploymentLoad();
    return { index, weight: 1 + index, priority: index % 2, latencyMs: () => stats.ttftMs, stats, load, deploymentName: `d${index}`, price: { input: 100 + index, output: 400 + index }, contextWindow: 128000, random };
  });
}

/** Feeds every target answers so the latency-aware strategies have models and averages. */
function warm(targets) {
  for (let i = 0; i < 200; i++) {
    for (const t of targets) {
      clockMs += 5;
      const inFlight = Math.floor(t.random() * 8);
      t.stats.observe({ endMs: clockMs, outcome: 'success', stream: true, durationMs: 400 + 20 * inFlight, ttftMs: 80 + 15 * inFlight + t.index * 10, outputTokens: 100, features: t.stats.wantsFeatures ? { inputTokens: 2000, prefixHit: 0.5, inFlight, inFlightTokens: inFlight * 2000, waiting: 0, kvCacheUsage: 0.3 } : undefined });
    }
  }
  for (const t of targets) for (let k = 0; k < t.index; k++) t.load.begin(2000);
}

function nsPer(fn, iterations) {
  for (let i = 0; i < iterations / 10; i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / iterations;
}

const rows = [];
for (const n of [4, 8]) {
  for (const strategy of strategies) {
    const targets = fleet(n);
    const balancer = createBalancer(strategy, seededRandom(1), { clock });
    for (let i = 0; i < n; i++) balancer.pick(targets);
    warm(targets);
    const blocks = messagesPrefixBlocks(messages);
    const ns = nsPer(() => {
      clockMs += 0.01;
      balancer.pick(targets, new RouteRequest({ promptTokens: 2400, outputTokens: 256 }, true, () => blocks));
    }, 200_000);
    rows.push([strategy, n, ns]);
  }
}
process.stdout.write('pick (ns per request, live load and history; a RouteRequest allocated each time):\n');
for (const s of strategies) process.stdout.write(`  ${s.padEnd(18)} 4 targets ${rows.find((r) => r[0] === s && r[1] === 4)[2].toFixed(0).padStart(6)}   8 targets ${rows.find((r) => r[0] === s && r[1] === 8)[2].toFixed(0).padStart(6)}\n`);

const chars = messages.reduce((a, m) => a + m.content.length, 0);
process.stdout.write(`prefix blocks of a ${(chars / 1024).toFixed(1)} KB chat prompt: ${(nsPer(() => messagesPrefixBlocks(messages), 20_000) / 1000).toFixed(1)} µs\n`);
const stats = new TargetStats();
process.stdout.write(`TargetStats.observe, stream: ${nsPer((i) => stats.observe({ endMs: i, outcome: 'success', stream: true, durationMs: 500, ttftMs: 80, outputTokens: 100 }), 500_000).toFixed(0)} ns; JSON: ${nsPer((i) => stats.observe({ endMs: i, outcome: 'success', stream: false, durationMs: 500 + (i % 7) * 10, outputTokens: 50 + (i % 7) * 20 }), 500_000).toFixed(0)} ns\n`);
const page = vllmPage();
const unread = (bytes) => {
  const lines = [];
  for (let i = 0, size = 0; size < bytes; i++) size += lines[lines.push(`vllm:request_latency_seconds_bucket{le="${i}",model_name="meta-llama/Llama-3.1-8B-Instruct"} ${i}`) - 1].length + 1;
  return lines.join('\n') + '\n';
};
const ms = (fn, n) => (nsPer(fn, n) / 1e6).toFixed(2);
for (const kb of [196, 1024]) {
  const padded = page + unread(kb * 1024);
  process.stdout.write(`scrape of a ${kb} KB vLLM page (mostly unread lines): filtered then parsed ${ms(() => readServerMetrics('vllm', padded, undefined), 50)} ms; the whole page parsed ${ms(() => parse(padded), 5)} ms\n`);
}
// The worst page a scrape still parses: 128 KiB of lines it reads (hostile or a huge fleet).
const read = Array.from({ length: 1450 }, (_, i) => `vllm:num_requests_running{engine="${i}",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1`).join('\n') + '\n';
process.stdout.write(`scrape of ${(read.length / 1024).toFixed(0)} KB of read lines (just under the 128 KiB bound): ${ms(() => readServerMetrics('vllm', read, undefined), 50)} ms\n`);
