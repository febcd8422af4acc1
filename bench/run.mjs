// `npm run bench`: the side-by-side benchmark. Starts a zero-latency fake upstream (3 ports),
// the pass-through floor, our gateway (built dist/; `ours-db`: its keys issued through the admin
// API into the control plane) and Portkey, each gateway pinned to the same core; sends the
// same load to each in turn, phase by phase and step by step (interleaved, so
// ratios hold even on a noisy machine); writes docs/performance.md and its SVG chart. The
// scaling phase (lib/scaling.mjs) starts its own gateways: `serve --workers 1` and `--workers 2`.
//
//   npm run bench                 full run (≈ 11–14 min on 2 cores, the sweeps ≈ 3–4 of them)
//   npm run bench -- --quick      smoke run (≈ 4–5 min): shorter steps, fewer rates, 500 streams
//   options: --targets direct,floor,ours,ours-db,portkey   --phases max,latency,stream,c1,open-streams,sweeps,scaling
//            (every process target's idle RSS is read after start, before any load, whatever the phases)
//            (sweeps: lib/sweeps.mjs, costs that grow with keys, routes, open streams, body size)
//            (also: ours-traced, the gateway with tracing on at 100 % sampling, exporting OTLP to a
//            loopback sink: `--targets ours,ours-traced` is tracing's cost)
//            --no-build   --no-report   --streams N   --live N (console streams open on ours-db)
//            --report-from FILE   re-render docs/performance.md from a saved raw results file
//            --baseline DIR   also run the gateway built in DIR (a copy of an older dist/) as
//                             target 'baseline', interleaved with 'ours': an A/B for one change
//            --unpriced-baseline   the baseline's config without target prices (a build from
//                             before issue 12, whose config schema has no `price`)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');
const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    targets: { type: 'string', default: 'direct,floor,ours,ours-db,portkey' },
    'no-build': { type: 'boolean', default: false },
    'no-report': { type: 'boolean', default: false },
    streams: { type: 'string' },
    baseline: { type: 'string' },
    'unpriced-baseline': { type: 'boolean', default: false },
    'report-from': { type: 'string' },
    phases: { type: 'string', default: 'max,latency,stream,c1,open-streams,sweeps,scaling' },
    // Console streams (GET /admin/v1/live) held open, reading, on targets with the admin API (ours-db) while measured.
    live: { type: 'string', default: '0' },
  },
});

if (opts['report-from']) {
  const { reportFiles, renderConsoleTable } = await import('./lib/report.mjs');
  const saved = JSON.parse(readFileSync(opts['report-from'], 'utf8'));
  writeReport(saved, reportFiles);
  process.stdout.write(`${renderConsoleTable(saved)}\n`);
  process.exit(0);
}

// Install the bench's own dependencies (and Portkey's) on a fresh clone; never the root's.
for (const dir of [benchDir, join(benchDir, 'portkey')]) {
  if (!existsSync(join(dir, 'node_modules'))) {
    process.stderr.write(`installing ${dir} (npm ci)…\n`);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: dir, stdio: 'inherit' });
  }
}
if (!opts['no-build']) {
  process.stderr.write('building dist/ (npm run build)…\n');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}

const { drain, firstJsonLine, freePort, pinning, probe, runJsonChild, spawnNode, stopAll, waitForHttp } = await import('./lib/processes.mjs');
const { benchAdminKey, chatBody, chatPath, gatewayConfig, gatewayConfigWithStore, headerSets, holdBody, issueStoreKeys, streamBody, upstreamKey } = await import('./lib/workload.mjs');
const { reportFiles, renderConsoleTable } = await import('./lib/report.mjs');
const { phaseScaling } = await import('./lib/scaling.mjs');
const { phaseSweeps } = await import('./lib/sweeps.mjs');
const { warmUp } = await import('./lib/warmup.mjs');

const quick = opts.quick;
const plan = {
  maxSeconds: quick ? 3 : 8,
  maxWarmupSeconds: quick ? 1 : 2,
  // And at least this many requests (lib/warmup.mjs): a slow target must not be measured mid-JIT.
  maxWarmupRequests: quick ? 3000 : 5000,
  maxWarmupCapSeconds: quick ? 20 : 40,
  connections: 50,
  rates: quick ? [250, 1000, 2000, 4000] : [250, 500, 1000, 2000, 3000, 4000, 6000, 8000, 12000],
  stepMs: quick ? 1500 : 4000,
  stepWarmupMs: quick ? 300 : 1000,
  streamRate: 100,
  streamMs: quick ? 1500 : 4000,
  // c=1: one connection, requests back to back (lib/load-serial.mjs), after its own warm-up.
  c1Seconds: quick ? 3 : 8,
  c1WarmupSeconds: quick ? 0.5 : 1,
  openStreams: Number(opts.streams ?? (quick ? 500 : 5000)),
};
const LOAD_CPU = 0;
const GATEWAY_CPU = 1;
const selected = opts.targets.split(',');
const lib = (f) => join(benchDir, 'lib', f);
const probeImport = ['--import', new URL('./lib/probe.mjs', import.meta.url).href];

// A hard stop so an unattended run can never hang: the whole run is bounded. The quick run's
// bound leaves room for a shared machine, where the warm-ups alone can reach their caps (5 × 20 s).
const hardStop = setTimeout(() => {
  process.stderr.write('bench: hard time limit reached, stopping\n');
  void stopAll().then(() => process.exit(3));
}, (quick ? 9 : 22) * 60_000);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void stopAll().then(() => process.exit(130)));

/** The OTLP sink of `ours-traced`, when that target runs. */
let tracedSink;
const results = { startedAt: new Date().toISOString(), quick, plan, pinning, machine: machine(), bodyBytes: Buffer.byteLength(chatBody), targets: {}, phases: {} };

try {
  const fake = spawnNode([lib('fake-upstream.mjs'), '--ports', '0,0,0', '--chunks', '20', '--gap-ms', '1'], { cpu: LOAD_CPU });
  const { ports } = await firstJsonLine(fake);
  const targets = await startTargets(ports);
  for (const t of targets) await sanityCheck(t);
  const liveStreams = Number(opts.live);
  if (liveStreams > 0) {
    for (const t of targets.filter((x) => x.name === 'ours-db')) {
      t.notes += `; ${liveStreams} console live stream(s) open and read throughout`;
      t.live = await openLiveStreams(t.url, liveStreams);
    }
  }
  results.targets = Object.fromEntries(targets.map((t) => [t.name, { label: t.label, url: t.url, notes: t.notes }]));

  // Idle RSS after start (the sanity check's few requests aside), before any load.
  await new Promise((r) => setTimeout(r, 1000));
  results.phases.idle = await memorySnapshot(targets);
  const phases = opts.phases.split(',');
  if (phases.includes('max')) {
    results.phases.max = await phaseMax(targets);
    // maxRss is the process's peak so far, so this is the peak under the max-throughput load.
    results.phases.peakMaxLoad = await memorySnapshot(targets);
  }
  if (phases.includes('latency')) results.phases.latency = await phaseLatency(targets);
  if (phases.includes('stream')) results.phases.stream = await phaseStream(targets);
  if (phases.includes('c1')) results.phases.c1 = await phaseC1(targets);
  results.phases.peakRequestLoad = await memorySnapshot(targets);
  if (phases.includes('open-streams')) results.phases.openStreams = await phaseOpenStreams(targets.filter((t) => t.child));
  results.phases.peakAll = await memorySnapshot(targets);
  if (phases.includes('sweeps')) results.phases.sweeps = await phaseSweeps({ quick, ports, dist: join(root, 'dist'), log });
  // Last: its gateways are separate processes, started and stopped one at a time.
  if (phases.includes('scaling')) results.phases.scaling = await phaseScaling({ plan, selected, pinnedPorts: ports, gatewayEntry: join(root, 'dist', 'main.js'), log });
  if (tracedSink) results.tracing = await tracingTotals(targets.find((t) => t.name === 'ours-traced'));
  results.finishedAt = new Date().toISOString();
  results.machine.loadAvgEnd = loadavg()[0];

  mkdirSync(join(benchDir, 'results'), { recursive: true });
  // A partial run (--no-report) must not replace the raw results the published report was
  // rendered from: `--report-from bench/results/latest.raw.json` re-renders that report.
  const rawFile = opts['no-report'] ? 'partial.raw.json' : 'latest.raw.json';
  writeFileSync(join(benchDir, 'results', rawFile), `${JSON.stringify(results, null, 2)}\n`);
  for (const t of targets) if (t.live) log(`${t.name}: live streams received ${t.live.ticks()} ticks (${t.live.bytes()} bytes)`);
  process.stdout.write(`\n${renderConsoleTable(results)}\n`);
  if (!opts['no-report']) {
    writeReport(results, reportFiles);
  }
} finally {
  clearTimeout(hardStop);
  await stopAll();
}

/** `n` console streams read to the end (each tick counted), as the console's live page does; closed with the process. */
async function openLiveStreams(url, n) {
  const { request } = await import('node:http');
  let ticks = 0;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    await new Promise((resolvePromise, reject) => {
      const req = request(`${url}/admin/v1/live`, { headers: { authorization: `Bearer ${benchAdminKey}` } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`GET /admin/v1/live answered ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          bytes += chunk.length;
          ticks += chunk.split('event: tick').length - 1;
        });
        res.on('error', () => undefined);
        resolvePromise();
      });
      req.on('error', reject);
      req.end();
    });
  }
  return { ticks: () => ticks, bytes: () => bytes };
}

async function startTargets(ports) {
  const out = [];
  if (selected.includes('direct')) {
    out.push({ name: 'direct', label: 'direct (fake upstream, no proxy)', url: `http://127.0.0.1:${ports[0]}`, headerSets: headerSets('direct', ports), notes: 'the zero-latency fake itself' });
  }
  if (selected.includes('floor')) {
    const child = spawnNode([...probeImport, lib('floor-proxy.mjs'), '--upstream', `http://127.0.0.1:${ports[0]}/v1`], { cpu: GATEWAY_CPU, ipc: true });
    const { port } = await firstJsonLine(child);
    out.push({ name: 'floor', label: 'floor (plain node:http pass-through)', url: `http://127.0.0.1:${port}`, child, headerSets: headerSets('floor', ports), notes: 'no features; one upstream' });
  }
  if (selected.includes('ours')) out.push(await startOurs('ours', join(root, 'dist', 'main.js'), ports, 'auth (100 tenants), rate limits, metrics, JSON access log, cost accounting (priced targets), 3 deployments round-robin'));
  if (selected.includes('ours-db')) out.push(await startOursWithStore(ports));
  if (selected.includes('ours-traced')) out.push(await startOursTraced(ports));
  if (opts.baseline) out.push(await startOurs('baseline', resolve(opts.baseline, 'main.js'), ports, 'the same gateway built from an earlier commit'));
  if (selected.includes('portkey')) {
    const port = await freePort();
    const entry = join(benchDir, 'portkey', 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
    const child = spawnNode([...probeImport, entry, `--port=${port}`, '--headless'], { cpu: GATEWAY_CPU, ipc: true, cwd: join(benchDir, 'portkey') });
    const stderr = drain(child);
    await waitForHttp(`http://127.0.0.1:${port}/`, 30_000, stderr);
    out.push({ name: 'portkey', label: `Portkey ${portkeyVersion()}`, url: `http://127.0.0.1:${port}`, child, headerSets: headerSets('portkey', ports), notes: 'x-portkey-config load-balancing the 3 upstreams; --headless, default settings (no cache); no auth or rate limits (not in the open-source gateway)' });
  }
  return out;
}

async function startOurs(name, entry, ports, notes, extraConfig = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'llm-gateway-bench-'));
  const configFile = join(dir, 'gateway.yaml');
  // A baseline built before prices existed would refuse a config that has them.
  const priced = name !== 'baseline' || !opts['unpriced-baseline'];
  writeFileSync(configFile, JSON.stringify({ ...gatewayConfig(ports, { maxConnections: Math.max(1024, plan.openStreams), priced }), ...extraConfig }, null, 2));
  const port = await freePort();
  const child = spawnNode([...probeImport, entry, 'serve', '--config', configFile, '--port', String(port)], { cpu: GATEWAY_CPU, ipc: true, env: { BENCH_UPSTREAM_KEY: upstreamKey } });
  const stderr = drain(child);
  await waitForHttp(`http://127.0.0.1:${port}/health`, 30_000, stderr);
  const label = name === 'ours' ? 'llm-gateway (this repo)' : name === 'ours-traced' ? 'llm-gateway, tracing on (100 % sampled)' : `llm-gateway (${opts.baseline})`;
  return { name, label, url: `http://127.0.0.1:${port}`, child, headerSets: headerSets('ours', ports), notes };
}

/**
 * `ours` with tracing on: every request sampled, its spans exported as OTLP/protobuf to a sink on
 * the load generator's core (so the gateway's core pays for making, batching and serializing
 * spans, not for receiving them). A queue larger than the default keeps drops rare at max load;
 * the drops there are are counted in the results (`spansDropped`).
 */
async function startOursTraced(ports) {
  const sink = spawnNode([lib('otlp-sink.mjs')], { cpu: LOAD_CPU });
  const { port } = await firstJsonLine(sink);
  tracedSink = `http://127.0.0.1:${port}`;
  const tracing = { enabled: true, endpoint: `${tracedSink}/v1/traces`, samplingRatio: 1, maxQueueSize: 32768, maxExportBatchSize: 2048, scheduledDelayMs: 1000 };
  return startOurs('ours-traced', join(root, 'dist', 'main.js'), ports, 'as ours, with tracing on: every request sampled, OTLP/protobuf to a loopback sink', { tracing });
}

/** `ours` with the control plane on: the same tenants as teams in the embedded store, called with keys issued by the admin API. */
async function startOursWithStore(ports) {
  const dir = mkdtempSync(join(tmpdir(), 'llm-gateway-bench-'));
  const configFile = join(dir, 'gateway.yaml');
  writeFileSync(configFile, JSON.stringify(gatewayConfigWithStore(ports, { maxConnections: Math.max(1024, plan.openStreams) }, join(dir, 'data')), null, 2));
  const port = await freePort();
  const child = spawnNode([...probeImport, join(root, 'dist', 'main.js'), 'serve', '--config', configFile, '--port', String(port)], { cpu: GATEWAY_CPU, ipc: true, env: { BENCH_UPSTREAM_KEY: upstreamKey, BENCH_ADMIN_KEY: benchAdminKey } });
  const stderr = drain(child);
  await waitForHttp(`http://127.0.0.1:${port}/ready`, 60_000, stderr);
  const url = `http://127.0.0.1:${port}`;
  return { name: 'ours-db', label: 'llm-gateway, keys from the control plane', url, child, headerSets: await issueStoreKeys(url), notes: 'as ours, with the 100 tenants made as teams and keys through the admin API (embedded store)' };
}

/** One JSON and one streaming request through each target, checked, before anything is measured. */
async function sanityCheck(t) {
  const base = { url: t.url, path: chatPath, headerSets: t.headerSets, rate: 20, durationMs: 200, warmupMs: 0, connections: 2 };
  const json = await runJsonChild([lib('load-open.mjs'), JSON.stringify({ ...base, body: chatBody })], { cpu: LOAD_CPU });
  const stream = await runJsonChild([lib('load-open.mjs'), JSON.stringify({ ...base, body: streamBody, stream: true })], { cpu: LOAD_CPU });
  if (json.errors > 0 || stream.errors > 0) throw new Error(`${t.name} failed its sanity check: ${JSON.stringify({ json: json.statusCounts, stream: stream.statusCounts })}`);
}

async function measured(t, fn) {
  if (t.child) await probe(t.child, 'start');
  const load = await fn();
  const p = t.child ? await probe(t.child, 'stop') : undefined;
  // The probe's window holds a load-open run's warm-up requests too: divide by all it served.
  const served = load.served ?? load.ok ?? load.total ?? 0;
  return {
    ...load,
    ...(p && served > 0 ? { cpuUsPerRequest: p.cpuMicros / served, allocBytesPerRequest: p.allocatedBytes / served, gcMsTotal: p.gcMicros / 1000, rss: p.rss, cpuBusy: p.cpuMicros / 1000 / p.wallMs } : {}),
  };
}

async function phaseMax(targets) {
  log(`phase: max throughput, ${plan.connections} connections, ${plan.maxSeconds} s each`);
  const out = {};
  for (const t of targets) {
    const spec = { url: t.url, path: chatPath, connections: plan.connections, body: chatBody, headerSets: t.headerSets };
    const warmup = await warmUp(spec, { minSeconds: plan.maxWarmupSeconds, minRequests: plan.maxWarmupRequests, capSeconds: plan.maxWarmupCapSeconds, cpu: LOAD_CPU });
    out[t.name] = { ...(await measured(t, () => runJsonChild([lib('load-max.mjs'), JSON.stringify({ ...spec, durationSec: plan.maxSeconds })], { cpu: LOAD_CPU }))), warmup };
    log(`  ${t.name}: ${Math.round(out[t.name].requestsPerSec)} req/s (after ${warmup.requests} warm-up requests in ${warmup.seconds.toFixed(1)} s)`);
  }
  return out;
}

async function phaseLatency(targets) {
  log('phase: latency at fixed offered rates (open loop)');
  const out = Object.fromEntries(targets.map((t) => [t.name, []]));
  const saturated = new Set();
  for (const rate of plan.rates) {
    for (const t of targets) {
      if (saturated.has(t.name)) continue;
      const spec = { url: t.url, path: chatPath, rate, durationMs: plan.stepMs, warmupMs: plan.stepWarmupMs, body: chatBody, headerSets: t.headerSets, connections: 512, drainMs: 3000 };
      const step = await measured(t, () => runJsonChild([lib('load-open.mjs'), JSON.stringify(spec)], { cpu: LOAD_CPU }));
      step.saturated = step.achieved < 0.95 * rate || step.errors > 0.005 * step.sent || step.latencyUs.p99 > 250_000;
      out[t.name].push(step);
      if (step.saturated) saturated.add(t.name);
      log(`  ${rate}/s ${t.name}: p50 ${fmtUs(step.latencyUs.p50)} p99 ${fmtUs(step.latencyUs.p99)}${step.saturated ? ' (saturated)' : ''}`);
    }
    if (saturated.size === targets.length) break;
  }
  return out;
}

async function phaseStream(targets) {
  log(`phase: streaming, ${plan.streamRate} streams/s, 20 chunks 1 ms apart`);
  const out = {};
  for (const t of targets) {
    const spec = { url: t.url, path: chatPath, rate: plan.streamRate, durationMs: plan.streamMs, warmupMs: plan.stepWarmupMs, body: streamBody, stream: true, headerSets: t.headerSets, connections: 256 };
    out[t.name] = await measured(t, () => runJsonChild([lib('load-open.mjs'), JSON.stringify(spec)], { cpu: LOAD_CPU }));
    log(`  ${t.name}: ttfb p50 ${fmtUs(out[t.name].ttfbUs.p50)} total p50 ${fmtUs(out[t.name].latencyUs.p50)}`);
  }
  return out;
}

async function phaseC1(targets) {
  log(`phase: c=1, one connection, closed loop, ${plan.c1Seconds} s each`);
  const out = {};
  for (const t of targets) {
    const spec = { url: t.url, path: chatPath, body: chatBody, headerSets: t.headerSets };
    // Warm-up in its own run, so the probe's window holds only the measured requests.
    await runJsonChild([lib('load-serial.mjs'), JSON.stringify({ ...spec, durationMs: plan.c1WarmupSeconds * 1000 })], { cpu: LOAD_CPU });
    out[t.name] = await measured(t, () => runJsonChild([lib('load-serial.mjs'), JSON.stringify({ ...spec, durationMs: plan.c1Seconds * 1000 })], { cpu: LOAD_CPU }));
    log(`  ${t.name}: p50 ${fmtUs(out[t.name].latencyUs.p50)} p99 ${fmtUs(out[t.name].latencyUs.p99)} (${out[t.name].ok} requests)`);
  }
  return out;
}

async function phaseOpenStreams(targets) {
  log(`phase: ${plan.openStreams} concurrent open streams`);
  const out = {};
  for (const t of targets) {
    const before = await probe(t.child, 'memory');
    let atOpen;
    let final;
    await runJsonChild([lib('streams-hold.mjs'), JSON.stringify({ url: t.url, path: chatPath, count: plan.openStreams, body: holdBody, headerSets: t.headerSets, openTimeoutMs: 30_000, holdMs: 2000 })], {
      cpu: LOAD_CPU,
      timeoutMs: 60_000,
      onLine: (line) => {
        if ('errors' in line) final = line;
        else atOpen = probe(t.child, 'memory').then((m) => ({ ...m, open: line.open }));
      },
    });
    const open = await atOpen;
    out[t.name] = {
      requested: plan.openStreams,
      open: open?.open ?? 0,
      errors: final?.errors ?? plan.openStreams,
      rssBefore: before.rss,
      rssOpen: open?.rss,
      heapBefore: before.heapUsed,
      heapOpen: open?.heapUsed,
      bytesPerStream: open && open.open > 0 ? (open.rss - before.rss) / open.open : undefined,
      heapBytesPerStream: open && open.open > 0 ? (open.heapUsed - before.heapUsed) / open.open : undefined,
    };
    log(`  ${t.name}: ${out[t.name].open} open, ${fmtBytes(out[t.name].bytesPerStream)} RSS per stream`);
  }
  return out;
}

async function memorySnapshot(targets) {
  const out = {};
  for (const t of targets) if (t.child) out[t.name] = await probe(t.child, 'memory');
  return out;
}

function portkeyVersion() {
  return JSON.parse(readFileSync(join(benchDir, 'portkey', 'node_modules', '@portkey-ai', 'gateway', 'package.json'), 'utf8')).version;
}

function machine() {
  const hono = JSON.parse(readFileSync(join(benchDir, 'portkey', 'node_modules', '@hono', 'node-server', 'package.json'), 'utf8')).version;
  return { cpuModel: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), loadAvgStart: loadavg()[0], node: process.version, platform: `${process.platform} ${process.arch}`, honoNodeServer: hono, autocannon: JSON.parse(readFileSync(join(benchDir, 'node_modules', 'autocannon', 'package.json'), 'utf8')).version };
}

function writeReport(res, reportFiles) {
  // The profile analysis is prose kept in bench/analysis.md; every number is generated.
  const analysisFile = join(benchDir, 'analysis.md');
  const files = reportFiles(res, existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8') : '');
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
  process.stdout.write(`wrote ${Object.keys(files).join(', ')}\n`);
}

function log(s) {
  process.stderr.write(`${s}\n`);
}
function fmtUs(us) {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${Math.round(us)} µs`;
}
function fmtBytes(b) {
  return b === undefined ? 'n/a' : b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(1)} MB` : `${(b / 1024).toFixed(1)} KB`;
}

/** What the traced gateway exported (the sink's count) and dropped (its metric). */
async function tracingTotals(t) {
  // Let the last batch go out before counting.
  await new Promise((r) => setTimeout(r, 1500));
  const sink = await (await fetch(`${tracedSink}/stats`)).json();
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  const dropped = {};
  for (const m of metrics.matchAll(/^gateway_trace_spans_dropped_total\{reason="([a-z_]+)"\} (\d+)/gm)) dropped[m[1]] = Number(m[2]);
  const out = { exportRequests: sink.requests, exportedBytes: sink.bytes, spansDropped: dropped };
  log(`tracing: ${JSON.stringify(out)}`);
  return out;
}
