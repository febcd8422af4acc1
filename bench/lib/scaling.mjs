// The multi-core scaling phase: maximum throughput of our gateway with 1 and 2 workers under the
// max phase's load (autocannon, 50 connections, closed loop, the same body and tenants), with the
// floor (and direct) for reference, in two CPU layouts on the same two CPUs:
//   pinned  the gateway on CPU 1, load generator and fake upstream on CPU 0 (the max phase's
//           layout). 2 workers and their primary then share CPU 1, so their ratio to 1 worker
//           is what the cluster costs at equal CPU, not a speed-up.
//   shared  every process, load generator and fake upstream included, may run on CPUs 0-1. The
//           only way 2 workers get 2 cores on a 2-core machine, at the price of sharing both
//           with the load: the gateway never has a dedicated core here.
// "1 worker" is `serve --workers 1`, which src/main.ts runs as the plain single-process server
// (no primary, rate limiter in-process): what a user runs without --workers. So the 2-worker
// ratio includes moving the limiter and concurrency slots into the primary over IPC.
//
// Every gateway here is started fresh and without the probe: cluster.fork() inherits the
// primary's execArgv, so `--import probe.mjs` would load in each worker too, but the bench has
// an IPC channel to the primary only and could not ask them. CPU is summed instead over the
// whole process tree (primary and workers) from /proc, for every row alike.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canPin, drain, firstJsonLine, freePort, runJsonChild, spawnNode, stopChild, waitForHttp } from './processes.mjs';
import { procAvailable, treeCpu } from './proc-cpu.mjs';
import { warmUp } from './warmup.mjs';
import { chatBody, chatPath, gatewayConfig, headerSets, upstreamKey } from './workload.mjs';

const lib = (f) => fileURLToPath(new URL(f, import.meta.url));

const layouts = canPin
  ? [
      { name: 'pinned', short: 'gateway CPU 1, load CPU 0', label: 'the gateway (all its processes) on CPU 1; load generator and fake upstream on CPU 0', gatewayCpu: 1, loadCpu: 0 },
      { name: 'shared', short: 'all on CPUs 0-1', label: 'every process, load generator and fake upstream too, on CPUs 0-1', gatewayCpu: '0-1', loadCpu: '0-1' },
    ]
  : [{ name: 'unpinned', short: 'not pinned', label: 'not pinned (taskset or a second CPU is missing)' }];

/**
 * Runs the phase. `pinnedPorts`: the run's fake upstream (on CPU 0, or unpinned); a second fake
 * on CPUs 0-1 serves the shared layout. `selected`: the run's --targets (direct, floor, ours).
 */
export async function phaseScaling({ plan, selected, pinnedPorts, gatewayEntry, log }) {
  log(`phase: multi-core scaling, ${plan.connections} connections, ${plan.maxSeconds} s each`);
  const rows = [];
  for (const layout of layouts) {
    let fake;
    let ports = pinnedPorts;
    if (layout.name === 'shared') {
      fake = spawnNode([lib('fake-upstream.mjs'), '--ports', '0,0,0', '--chunks', '20', '--gap-ms', '1'], { cpu: layout.loadCpu });
      ({ ports } = await firstJsonLine(fake));
    }
    const configs = [
      ...(selected.includes('direct') ? [{ target: 'direct' }] : []),
      ...(selected.includes('floor') ? [{ target: 'floor' }] : []),
      ...(selected.includes('ours') ? [{ target: 'ours', workers: 1 }, { target: 'ours', workers: 2 }] : []),
    ];
    for (const c of configs) {
      const server = await start(c, layout, ports, gatewayEntry, plan);
      try {
        const row = await measure(server, layout, plan, c.workers ?? 1);
        rows.push({ ...c, layout: layout.name, ...row });
        log(`  ${layout.name} ${c.target}${c.workers ? ` ×${c.workers}` : ''}: ${Math.round(row.requestsPerSec)} req/s${row.cpuCores === undefined ? '' : `, ${row.cpuCores.toFixed(2)} CPUs busy`}`);
      } finally {
        if (server.child) await stopChild(server.child);
      }
    }
    if (fake) await stopChild(fake);
  }
  return { connections: plan.connections, seconds: plan.maxSeconds, warmupSeconds: plan.maxWarmupSeconds, warmupRequests: plan.maxWarmupRequests, cpuFrom: procAvailable ? '/proc' : undefined, layouts: layouts.map(({ name, short, label }) => ({ name, short, label })), rows };
}

async function start(c, layout, ports, gatewayEntry, plan) {
  if (c.target === 'direct') return { url: `http://127.0.0.1:${ports[0]}`, headerSets: headerSets('direct', ports) };
  if (c.target === 'floor') {
    const child = spawnNode([lib('floor-proxy.mjs'), '--upstream', `http://127.0.0.1:${ports[0]}/v1`], { cpu: layout.gatewayCpu });
    const { port } = await firstJsonLine(child);
    return { url: `http://127.0.0.1:${port}`, child, headerSets: headerSets('floor', ports) };
  }
  const configFile = join(mkdtempSync(join(tmpdir(), 'llm-gateway-bench-')), 'gateway.yaml');
  writeFileSync(configFile, JSON.stringify(gatewayConfig(ports, { maxConnections: Math.max(1024, plan.openStreams) }), null, 2));
  const port = await freePort();
  const child = spawnNode([gatewayEntry, 'serve', '--config', configFile, '--port', String(port), '--workers', String(c.workers)], { cpu: layout.gatewayCpu, env: { BENCH_UPSTREAM_KEY: upstreamKey } });
  // The first worker up answers /health while the others still start: wait for the primary's
  // "all workers listening" log line too, or the first seconds would measure fewer workers.
  const all = c.workers > 1 ? logLine(child, 'all workers listening') : undefined;
  const stderr = drain(child);
  await waitForHttp(`http://127.0.0.1:${port}/health`, 30_000, stderr);
  await all;
  return { url: `http://127.0.0.1:${port}`, child, headerSets: headerSets('ours', ports) };
}

/** Resolves when a stdout line contains `text` (the JSON access/app log goes to stdout). */
function logLine(child, text, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    let tail = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" log line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d) => {
      tail = (tail + d).slice(-4096);
      if (!tail.includes(text)) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve();
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
  });
}

async function measure(server, layout, plan, workers) {
  const spec = { url: server.url, path: chatPath, connections: plan.connections, body: chatBody, headerSets: server.headerSets };
  // Every process starts cold here: the max phase's warm-up (lib/warmup.mjs: at least N requests,
  // not just seconds) times the number of workers, so each worker JIT-compiles the path on about
  // as many requests as the single process does before the window.
  const warm = await warmUp(spec, { minSeconds: plan.maxWarmupSeconds * workers, minRequests: plan.maxWarmupRequests * workers, capSeconds: plan.maxWarmupCapSeconds, cpu: layout.loadCpu });
  if (warm.requests > 0 && warm.failed >= warm.requests) throw new Error(`scaling: every warm-up request to ${server.url} failed`);
  const pid = server.child && procAvailable ? server.child.pid : undefined;
  const before = pid ? treeCpu(pid) : undefined;
  const t0 = performance.now();
  const load = await runJsonChild([lib('load-max.mjs'), JSON.stringify({ ...spec, durationSec: plan.maxSeconds })], { cpu: layout.loadCpu });
  // Includes the load generator's start-up (~0.2 s of idle gateway), so cpuCores reads a little low.
  const wallMs = performance.now() - t0;
  if (!before) return load;
  const after = treeCpu(pid);
  // A worker restarted during the step counts in full (all its CPU is in the window); one that
  // exited took its CPU with it, so the row is flagged.
  let cpuMicros = 0;
  for (const [p, us] of Object.entries(after.byPid)) cpuMicros += us - (before.byPid[p] ?? 0);
  const samePids = Object.keys(before.byPid).sort().join() === Object.keys(after.byPid).sort().join();
  const served = load.total - (load.non2xx ?? 0);
  const primaryMicros = Object.keys(after.byPid).length > 1 ? after.byPid[pid] - before.byPid[pid] : undefined;
  return {
    ...load,
    processes: Object.keys(after.byPid).length,
    processesChanged: !samePids,
    cpuCores: cpuMicros / 1000 / wallMs,
    ...(served > 0 ? { cpuUsPerRequest: cpuMicros / served, ...(primaryMicros === undefined ? {} : { primaryCpuUsPerRequest: primaryMicros / served }) } : {}),
  };
}
