// Routes sweep: 1 → 1,000 aliases, each with a deployment (and so a connection pool) of its own,
// all on the fake upstream's ports; the benchmark's 100 tenants, allowed every model. Per count,
// on a gateway started fresh: the max phase's closed-loop warm-up (one alias), then the fixed
// open-loop rate over every alias in turn (unmeasured, so each pool has connected), then the
// measured step at that rate: the gateway's CPU and allocation per request should not change.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOAD_CPU, load, probed, scratchDir, startGateway } from './sweep-gateway.mjs';
import { warmUp } from './warmup.mjs';
import { chatPath, gatewayConfigWithRoutes, headerSets, routeBodies } from './workload.mjs';

export async function sweepRoutes({ plan, ports, dist, log }) {
  const { counts, rate, warmupMs, durationMs } = plan;
  log(`  routes: ${counts.join(', ')} aliases and deployments, ${rate} req/s open loop over all of them, ${durationMs / 1000} s each`);
  const steps = [];
  for (const routes of counts) {
    const dir = scratchDir();
    const bodiesFile = join(dir, 'bodies.json');
    const bodies = routeBodies(routes);
    writeFileSync(bodiesFile, JSON.stringify(bodies));
    const gateway = await startGateway({ dist, dir, config: gatewayConfigWithRoutes(ports, routes, { maxConnections: 1024 }) });
    try {
      const sets = headerSets('ours', ports);
      const warmup = await warmUp({ url: gateway.url, path: chatPath, connections: 50, body: bodies[0], headerSets: sets }, { ...plan.warmup, cpu: LOAD_CPU });
      const spec = { url: gateway.url, path: chatPath, rate, bodiesFile, headerSets: sets, connections: 512, drainMs: 3000 };
      const spread = await load('load-open.mjs', { ...spec, warmupMs: 0, durationMs: warmupMs });
      // Warm-up errors are not fatal (a busy machine times some out); only a gateway that served none is.
      if (spread.ok === 0) throw new Error(`routes sweep: no warm-up request succeeded with ${routes} routes: ${JSON.stringify({ warmup, spread: spread.statusCounts })}`);
      const step = await probed(gateway, () => load('load-open.mjs', { ...spec, warmupMs: 0, durationMs }));
      steps.push({ routes, startMs: gateway.startMs, offered: step.offered, achieved: step.achieved, ok: step.ok, errors: step.errors, latencyUs: step.latencyUs, cpuUsPerRequest: step.cpuUsPerRequest, allocBytesPerRequest: step.allocBytesPerRequest, cpuBusy: step.cpuBusy, rss: step.rss });
      log(`    ${routes} routes: ${Math.round(step.cpuUsPerRequest)} µs CPU/req, p50 ${Math.round(step.latencyUs.p50)} µs, ${Math.round(step.achieved)}/s, errors ${step.errors}`);
    } finally {
      await gateway.stop();
    }
  }
  return { rate, warmupMs, durationMs, steps };
}
