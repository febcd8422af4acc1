// Body-size sweep: chat requests whose one user message is 1 KB → 1 MB (workload.promptBody), at
// a modest fixed open-loop rate that falls for the large sizes (so the gateway is never near
// saturation and the CPU per request is the size's cost, not queueing's), on one gateway started
// fresh and given the max phase's warm-up. Per size: an unmeasured second at the step's rate, then
// the measured step: the gateway's CPU and allocation per request, and how late its event loop
// ran (the probe's monitorEventLoopDelay over the step). 1 MB is under the default body limit
// (server.bodyLimitBytes, 10 MiB), so the config is the benchmark's, unchanged.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOAD_CPU, load, probed, scratchDir, startGateway } from './sweep-gateway.mjs';
import { warmUp } from './warmup.mjs';
import { chatBody, chatPath, gatewayConfig, headerSets, promptBody } from './workload.mjs';

export async function sweepBody({ plan, ports, dist, log }) {
  const { sizes, warmupMs, durationMs } = plan;
  log(`  body size: ${sizes.map((s) => `${s.bytes / 1024} KB at ${s.rate}/s`).join(', ')}, ${durationMs / 1000} s each`);
  const dir = scratchDir();
  const gateway = await startGateway({ dist, dir, config: gatewayConfig(ports, { maxConnections: 1024 }) });
  const steps = [];
  try {
    const sets = headerSets('ours', ports);
    const warmup = await warmUp({ url: gateway.url, path: chatPath, connections: 50, body: chatBody, headerSets: sets }, { ...plan.warmup, cpu: LOAD_CPU });
    if (warmup.failed >= warmup.requests) throw new Error('body sweep: every warm-up request failed');
    for (const { bytes, rate } of sizes) {
      const body = promptBody(bytes);
      // A 1 MB body does not fit in one command-line argument: the load generator reads a file.
      const bodiesFile = join(dir, `body-${bytes}.json`);
      writeFileSync(bodiesFile, JSON.stringify([body]));
      const spec = { url: gateway.url, path: chatPath, rate, bodiesFile, headerSets: sets, connections: 256, drainMs: 5000, warmupMs: 0 };
      const warm = await load('load-open.mjs', { ...spec, durationMs: warmupMs });
      if (warm.ok === 0) throw new Error(`body sweep: no ${bytes}-byte warm-up request succeeded: ${JSON.stringify(warm.statusCounts)}`);
      const step = await probed(gateway, () => load('load-open.mjs', { ...spec, durationMs }), { eventLoop: true });
      steps.push({ bytes, bodyBytes: Buffer.byteLength(body), rate, achieved: step.achieved, ok: step.ok, errors: step.errors, latencyUs: step.latencyUs, cpuUsPerRequest: step.cpuUsPerRequest, allocBytesPerRequest: step.allocBytesPerRequest, cpuBusy: step.cpuBusy, eventLoop: step.eventLoop, rss: step.rss });
      log(`    ${bytes / 1024} KB: ${Math.round(step.cpuUsPerRequest)} µs CPU/req, event loop late by p99 ${step.eventLoop?.p99Ms.toFixed(1)} ms, max ${step.eventLoop?.maxMs.toFixed(1)} ms, errors ${step.errors}`);
    }
  } finally {
    await gateway.stop();
  }
  return { warmupMs, durationMs, steps };
}
