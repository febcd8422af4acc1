// `npm run bench:routing`: the routing benchmark of issue 14. For each strategy variant it starts
// a cold heterogeneous fleet of simulated vLLM servers (fleet.mjs, config.mjs) and a gateway
// (built dist/) with alias `chat` over them, replays the same seeded workload (workload.mjs)
// open loop (replay.mjs), reads the fleet's counters, and stops both; then writes the raw results
// and the "Benchmark" section of docs/routing.md with its SVG (report.mjs).
//
//   npm run bench:routing                      every variant (≈ 9–10 min on 2 cores)
//   options: --strategies a,b,c+hedge   --seed N   --duration-ms MS (workload length; default 40000)
//            --quick (15 s of workload per variant)   --no-build   --no-report (raw results to
//            partial.raw.json, report untouched)   --report-from FILE (re-render from saved results)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { completed, renderConsoleTable, renderSection, renderSvg, replaceSection, requestFields } from './report.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..', '..');
const resultsDir = join(benchDir, 'results');
const { values: opts } = parseArgs({
  options: {
    strategies: { type: 'string' },
    seed: { type: 'string', default: '14' },
    'duration-ms': { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'no-report': { type: 'boolean', default: false },
    'report-from': { type: 'string' },
  },
});

if (opts['report-from']) {
  const saved = JSON.parse(readFileSync(opts['report-from'], 'utf8'));
  writeReport(saved);
  process.stdout.write(`${renderConsoleTable(saved)}\n`);
  process.exit(0);
}

if (!opts['no-build']) {
  process.stderr.write('building dist/ (npm run build)…\n');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}

const { drain, firstJsonLine, freePort, pinning, runJsonChild, spawnNode, stopAll, stopChild, waitForHttp } = await import('../lib/processes.mjs');
const { alias, defaultVariants, fleet, gatewayConfig, parseVariant, tenantCount, tenantKey } = await import('./config.mjs');
const { generateWorkload } = await import('./workload.mjs');

const LOAD_CPU = 0;
const GATEWAY_CPU = 1;
const durationMs = Number(opts['duration-ms'] ?? (opts.quick ? 15_000 : 40_000));
// Time after the last arrival for the requests still running (long batch outputs on a queued server).
const cutoffMs = durationMs + (opts.quick ? 10_000 : 15_000);
const variants = (opts.strategies ?? defaultVariants.join(',')).split(',').map(parseVariant);
const seed = Number(opts.seed);
const workload = generateWorkload(seed, { durationMs, tenants: tenantCount });

// A hard stop so an unattended run can never hang: each variant is bounded by its cutoff plus starts and stops.
const hardStop = setTimeout(() => {
  process.stderr.write('bench:routing: hard time limit reached, stopping\n');
  void stopAll().then(() => process.exit(3));
}, variants.length * (cutoffMs + 60_000));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void stopAll().then(() => process.exit(130)));

const tmp = mkdtempSync(join(tmpdir(), 'llm-gateway-bench-routing-'));
const workloadFile = join(tmp, 'workload.json');
writeFileSync(workloadFile, JSON.stringify(workload));
const results = {
  command: `npm run bench:routing${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  startedAt: new Date().toISOString(),
  machine: { cpuModel: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version, platform: `${process.platform} ${process.arch}`, loadAvgStart: loadavg()[0] },
  pinning,
  cutoffMs,
  workload: {
    seed,
    durationMs,
    options: { ...workload.options },
    requests: workload.requests.map((q) => requestFields.map((f) => (f === 'interactive' ? q.kind === 'interactive' : f === 'sloTtftMs' ? (q.slo?.ttftMs ?? null) : f === 'sloTpotMs' ? (q.slo?.tpotMs ?? null) : q[f]))),
  },
  fleet: fleet.map(({ name, class: cls, price, params }) => ({ name, class: cls, price, params })),
  variants: [],
};
log(`workload: ${workload.requests.length} requests over ${durationMs / 1000} s (seed ${seed}); variants: ${variants.map((v) => v.name).join(', ')}`);

try {
  for (const variant of variants) results.variants.push(await runVariant(variant));
  results.finishedAt = new Date().toISOString();
  results.machine.loadAvgEnd = loadavg()[0];
  mkdirSync(resultsDir, { recursive: true });
  // A partial run (--no-report) must not replace the raw results the published report was rendered from.
  writeFileSync(join(resultsDir, opts['no-report'] ? 'partial.raw.json' : 'latest.raw.json'), formatResults(results));
  process.stdout.write(`\n${renderConsoleTable(results)}\n`);
  if (!opts['no-report']) writeReport(results);
} finally {
  clearTimeout(hardStop);
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
}

/** One variant on a cold fleet and a fresh gateway: replay, then the fleet's counters. */
async function runVariant(variant) {
  const started = performance.now();
  const fleetChild = spawnNode([join(benchDir, 'fleet.mjs'), JSON.stringify(fleet.map(({ name, params }) => ({ name, params })))], { cpu: LOAD_CPU, ipc: true });
  const fleetErr = drainStderr(fleetChild);
  const { deployments } = await firstJsonLine(fleetChild).catch((err) => {
    throw new Error(`fleet did not start: ${err.message}\n${fleetErr.text}`);
  });
  const configFile = join(tmp, `gateway-${variant.name}.json`);
  writeFileSync(configFile, JSON.stringify(gatewayConfig(variant, deployments), null, 2));
  const port = await freePort();
  const gateway = spawnNode([join(root, 'dist', 'main.js'), 'serve', '--config', configFile, '--port', String(port)], { cpu: GATEWAY_CPU });
  const gatewayErr = drain(gateway);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/health`, 30_000, gatewayErr);
    log(`${variant.name}: replaying ${workload.requests.length} requests…`);
    const spec = { url, workloadFile, model: alias, keys: Array.from({ length: tenantCount }, (_, i) => tenantKey(i)), cutoffMs };
    const { rows, lateMs } = await runJsonChild([join(benchDir, 'replay.mjs'), JSON.stringify(spec)], { cpu: LOAD_CPU, timeoutMs: cutoffMs + 30_000 });
    const fleetStats = await statsOf(fleetChild);
    const out = { ...variant, lateMs, wallMs: Math.round(performance.now() - started), fleetStats, rows };
    const done = rows.filter(completed).length;
    log(`${variant.name}: ${done}/${rows.length} completed, ${Math.round(out.wallMs / 1000)} s, scheduling lag ≤ ${lateMs} ms`);
    return out;
  } catch (err) {
    throw new Error(`${variant.name}: ${err.message}\ngateway stderr: ${gatewayErr.text}\nfleet stderr: ${fleetErr.text}`);
  } finally {
    await stopChild(gateway);
    await stopChild(fleetChild);
  }
}

function statsOf(child) {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error('fleet stats timed out')), 10_000);
    child.on('message', function onMessage(m) {
      if (m?.statsReply !== true) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolvePromise(m.stats);
    });
    child.send({ stats: true });
  });
}

function drainStderr(child) {
  const tail = { text: '' };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (tail.text = (tail.text + d).slice(-2000)));
  return tail;
}

/** Pretty JSON with every array of plain values (a row, a request) on one line, so the file diffs and reads by line. */
function formatResults(value) {
  return `${JSON.stringify(value, null, 1).replace(/\[\n\s*([^[\]{}\n]+(?:,\n\s*[^[\]{}\n]+)*)\n\s*\]/g, (_, items) => `[${items.split(/,\n\s*/).join(',')}]`)}\n`;
}

function writeReport(res) {
  // Prose about the numbers (why a strategy won or lost) lives in bench/routing/analysis.md; every number is generated.
  const analysisFile = join(benchDir, 'analysis.md');
  const docFile = join(root, 'docs', 'routing.md');
  const section = renderSection(res, existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8') : '');
  writeFileSync(docFile, replaceSection(readFileSync(docFile, 'utf8'), section));
  writeFileSync(join(root, 'docs', 'routing-benchmark.svg'), renderSvg(res));
  process.stdout.write('wrote docs/routing.md (Benchmark) and docs/routing-benchmark.svg\n');
}

function log(s) {
  process.stderr.write(`${s}\n`);
}
