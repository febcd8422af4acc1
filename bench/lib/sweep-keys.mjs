// Keys sweep: 100 → 100,000 API keys in the control plane (embedded store, PGlite), each count on
// a gateway started fresh on a data directory filled directly (lib/control-store-fill.mjs, in a
// child on the load CPU). Per count: the time to /ready, the idle RSS and V8 heap after start
// (before any request), and the latency of sequential requests (concurrency 1, lib/load-serial.mjs)
// each with a key drawn at random among all N, minus the same sequence sent straight to the fake
// upstream just before: the added latency. A lookup that stays O(1) keeps it flat. Before the
// measured window each gateway gets the max phase's closed-loop warm-up (it starts cold).
import { join } from 'node:path';
import { storeKey, storeKeyPrefix, storeTeams } from './control-store-fill.mjs';
import { LOAD_CPU, lib, load, scratchDir, sleep, startGateway } from './sweep-gateway.mjs';
import { warmUp } from './warmup.mjs';
import { probe, runJsonChild } from './processes.mjs';
import { benchAdminKey, chatBody, chatPath, gatewayConfigWithStore } from './workload.mjs';

export async function sweepKeys({ plan, ports, dist, log }) {
  const { counts, warmupMs, durationMs, settleMs } = plan;
  log(`  keys: ${counts.join(', ')} keys in the embedded store, sequential requests (c=1), ${durationMs / 1000} s each`);
  const steps = [];
  for (const keys of counts) {
    const dir = scratchDir();
    const dataDir = join(dir, 'data');
    const fill = await runJsonChild([lib('control-store-fill.mjs'), JSON.stringify({ dist, dir: dataDir, keys })], { cpu: LOAD_CPU, timeoutMs: 180_000 });
    const gateway = await startGateway({ dist, dir, config: gatewayConfigWithStore(ports, { maxConnections: 1024 }, dataDir), env: { BENCH_ADMIN_KEY: benchAdminKey }, readyPath: '/ready' });
    try {
      // Idle after start: let start-up's timers settle, then read memory after a full GC (what
      // the keys hold, not start-up's garbage).
      await sleep(settleMs);
      const idle = await probe(gateway.child, 'memory', 10_000, { gc: true });
      // The same key sequence (seeded) for direct and the gateway.
      // JIT warm-up as the max phase's (closed loop, at least N requests), spread over keys.
      const headerSets = Array.from({ length: Math.min(keys, 100) }, (_, i) => ({ 'content-type': 'application/json', authorization: `Bearer ${storeKey(i + 1)}` }));
      const warmup = await warmUp({ url: gateway.url, path: chatPath, connections: 50, body: chatBody, headerSets }, { ...plan.warmup, cpu: LOAD_CPU });
      if (warmup.failed >= warmup.requests) throw new Error(`keys sweep: every warm-up request failed with ${keys} keys`);
      const spec = { path: chatPath, body: chatBody, warmupMs, durationMs, keys: { prefix: storeKeyPrefix, count: keys, seed: 17 } };
      const direct = await load('load-serial.mjs', { ...spec, url: `http://127.0.0.1:${ports[0]}` });
      const ours = await load('load-serial.mjs', { ...spec, url: gateway.url });
      const step = {
        keys,
        fillMs: fill.fillMs,
        startMs: gateway.startMs,
        rss: idle.rss,
        heapUsed: idle.heapUsed,
        direct: { ok: direct.ok, errors: direct.errors, latencyUs: direct.latencyUs },
        ours: { ok: ours.ok, errors: ours.errors, statusCounts: ours.statusCounts, latencyUs: ours.latencyUs },
      };
      steps.push(step);
      log(`    ${keys} keys: ready in ${Math.round(step.startMs)} ms, idle RSS ${(step.rss / 2 ** 20).toFixed(1)} MB, p50 ${Math.round(ours.latencyUs.p50)} µs (direct ${Math.round(direct.latencyUs.p50)} µs), errors ${ours.errors}`);
    } finally {
      await gateway.stop();
    }
  }
  return { warmupMs, durationMs, settleMs, teams: storeTeams, steps };
}
