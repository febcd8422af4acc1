// What the sweeps (lib/sweeps.mjs) share: starting a fresh gateway of their own with the probe,
// pinned as the other phases (gateway on CPU 1; load generators and fake upstreams on CPU 0),
// running a load generator child, and a step measured by the probe.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drain, freePort, probe, runJsonChild, spawnNode, stopChild, waitForHttp } from './processes.mjs';
import { upstreamKey } from './workload.mjs';

export const LOAD_CPU = 0;
export const GATEWAY_CPU = 1;
export const lib = (f) => fileURLToPath(new URL(f, import.meta.url));
const probeImport = ['--import', new URL('./probe.mjs', import.meta.url).href];

/** A scratch directory for one gateway (its config, its data); removed by the gateway's stop(). */
export function scratchDir() {
  return mkdtempSync(join(tmpdir(), 'llm-gateway-sweep-'));
}

/**
 * Starts `dist/main.js serve` on `config` (written into `dir`) with the probe, waits for
 * `readyPath`, and returns { url, child, startMs, stop() }. `env` adds to the environment
 * (secrets the config references); `nofile` raises the child's open-files limit.
 */
export async function startGateway({ dist, dir, config, env = {}, readyPath = '/health', nofile }) {
  const configFile = join(dir, 'gateway.yaml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const port = await freePort();
  const t0 = performance.now();
  const child = spawnNode([...probeImport, join(dist, 'main.js'), 'serve', '--config', configFile, '--port', String(port)], { cpu: GATEWAY_CPU, ipc: true, nofile, env: { BENCH_UPSTREAM_KEY: upstreamKey, ...env } });
  const stderr = drain(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}${readyPath}`, 120_000, stderr);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  const startMs = performance.now() - t0;
  return {
    url,
    child,
    startMs,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a load generator (lib/<file>) with `spec` on the load CPU; returns its JSON result. */
export function load(file, spec, options = {}) {
  return runJsonChild([lib(file), JSON.stringify(spec)], { cpu: LOAD_CPU, ...options });
}

/**
 * Runs `fn` (a load) between the probe's start and stop in `gateway`; returns the load's result
 * with the gateway's CPU and allocation per served request, its memory and (eventLoop: true) the
 * event loop's lateness over the step.
 */
export async function probed(gateway, fn, { eventLoop = false } = {}) {
  await probe(gateway.child, 'start', 10_000, { eventLoop });
  const result = await fn();
  const p = await probe(gateway.child, 'stop');
  const served = result.ok ?? 0;
  return {
    ...result,
    cpuUsPerRequest: served > 0 ? p.cpuMicros / served : undefined,
    allocBytesPerRequest: served > 0 ? p.allocatedBytes / served : undefined,
    cpuBusy: p.cpuMicros / 1000 / p.wallMs,
    rss: p.rss,
    ...(p.eventLoop ? { eventLoop: p.eventLoop } : {}),
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
