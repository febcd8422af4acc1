// Open-streams sweep: up to 10,000 concurrent slow streams through a gateway started fresh for
// each count, from a fake upstream of their own that sends each stream's chunks `chunkGapMs`
// apart ("bench-hold" bodies; 2 s: relaying chunks costs the gateway ~0.1 ms each, so 10,000
// streams at the other phases' 500 ms would fill its core with chunks, and this sweep is about
// the memory an open stream holds). Memory per stream is the gateway's RSS and V8 heap once every stream has
// delivered its first chunk, minus the same just before they were opened (after a short warm-up
// of fast streams), over the streams open then; both read after a full GC, so the heap is what
// the streams hold, not garbage the next collection would free. Then the fake is told to end
// them (POST /bench/release: each sends its usage chunk and [DONE] at its next tick; at most
// `maxChunks` chunks in any case), and lib/streams-hold.mjs (complete mode), which reads every
// stream to its end, counts the ones that reached [DONE]. The client opens at most `maxOpening`
// at a time (waiting for first chunks), so a busy gateway's accept queue does not overflow.
//
// Every stream holds two sockets in the gateway (client and upstream), so N streams need 2N open
// files plus a reserve: the children get that limit when the hard limit allows it, and otherwise
// the count is lowered to what fits (said in the results). The config is what a user would set
// for 10,000 streams: server.maxConnections 20,000 and the deployments' maxConnections at their
// maximum (10,000 each; the schema's cap).
import { firstJsonLine, openFilesLimit, probe, runJsonChild, spawnNode, stopChild } from './processes.mjs';
import { LOAD_CPU, lib, load, scratchDir, sleep, startGateway } from './sweep-gateway.mjs';
import { chatPath, gatewayConfig, headerSets, holdBody, streamBody } from './workload.mjs';

const reserveFiles = 512;

/** The open files N streams need in the gateway, and the most streams that fit under `hard`. */
export function streamsThatFit(requested, hard) {
  const needed = 2 * requested + reserveFiles;
  if (needed <= hard) return { streams: requested, needed };
  return { streams: Math.max(0, Math.floor((hard - reserveFiles) / 2 / 100) * 100), needed };
}

export async function sweepStreams({ plan, dist, log }) {
  const limits = openFilesLimit();
  const { chunkGapMs } = plan;
  log(`  open streams: ${plan.counts.join(', ')} concurrent streams, chunks ${chunkGapMs} ms apart (open files: soft ${limits?.soft ?? 'n/a'}, hard ${limits?.hard ?? 'n/a'})`);
  const steps = [];
  for (const requested of plan.counts) {
    const fit = limits ? streamsThatFit(requested, limits.hard) : { streams: requested, needed: undefined };
    const count = fit.streams;
    if (count < requested) log(`    ${requested} streams need ${fit.needed} open files in the gateway; the hard limit is ${limits.hard}: measuring ${count}`);
    const nofile = limits && fit.needed > limits.soft ? Math.min(fit.needed, limits.hard) : undefined;
    const chunks = plan.maxChunks;
    const fake = spawnNode([lib('fake-upstream.mjs'), '--ports', '0,0,0', '--chunks', String(chunks), '--gap-ms', '1', '--hold-gap-ms', String(chunkGapMs)], { cpu: LOAD_CPU, nofile });
    let gateway;
    let ports;
    try {
      ({ ports } = await firstJsonLine(fake));
      const config = gatewayConfig(ports, { maxConnections: Math.min(10_000, Math.max(1024, requested)) });
      config.server = { ...config.server, maxConnections: Math.max(10_000, 2 * requested) };
      gateway = await startGateway({ dist, dir: scratchDir(), config, nofile });
      const sets = headerSets('ours', ports);
      // Warm-up: fast streams, so the stream path is loaded and compiled before the baseline.
      const warm = await load('load-open.mjs', { url: gateway.url, path: chatPath, rate: 200, warmupMs: 0, durationMs: plan.warmupMs, body: streamBody, stream: true, headerSets: sets, connections: 256 });
      if (warm.ok === 0) throw new Error(`streams sweep: no warm-up stream succeeded: ${JSON.stringify(warm.statusCounts)}`);
      await sleep(1000);
      const before = await probe(gateway.child, 'memory', 10_000, { gc: true });
      const t0 = performance.now();
      let atOpen;
      let final;
      let openMs;
      const holdSeconds = (chunks * chunkGapMs) / 1000;
      await runJsonChild([lib('streams-hold.mjs'), JSON.stringify({ url: gateway.url, path: chatPath, count, body: holdBody, headerSets: sets, openTimeoutMs: 90_000, maxOpening: plan.maxOpening, complete: true, completeTimeoutMs: holdSeconds * 1000 + 30_000 })], {
        cpu: LOAD_CPU,
        nofile,
        timeoutMs: 90_000 + holdSeconds * 1000 + 60_000,
        onLine: (line) => {
          if ('completed' in line) final = line;
          else {
            openMs = performance.now() - t0;
            // Memory with every stream open, then let the fake end them all.
            atOpen = probe(gateway.child, 'memory', 10_000, { gc: true }).then(async (m) => {
              await fetch(`http://127.0.0.1:${ports[0]}/bench/release`, { method: 'POST' });
              return { ...m, open: line.open, active: line.active };
            });
          }
        },
      });
      const totalMs = performance.now() - t0;
      const open = await atOpen;
      const after = await probe(gateway.child, 'memory', 10_000, { gc: true });
      // Per stream over the streams open at that moment (all of them, unless some ended early).
      const opened = open?.active ?? 0;
      const step = {
        requested,
        streams: count,
        chunks,
        open: open?.open ?? 0,
        active: opened,
        completed: final?.completed ?? 0,
        errors: final?.errors ?? count,
        rejected: final?.rejected ?? 0,
        openMs,
        totalMs,
        rssBefore: before.rss,
        rssOpen: open?.rss,
        rssAfter: after.rss,
        heapBefore: before.heapUsed,
        heapOpen: open?.heapUsed,
        rssPerStream: opened > 0 ? (open.rss - before.rss) / opened : undefined,
        heapPerStream: opened > 0 ? (open.heapUsed - before.heapUsed) / opened : undefined,
      };
      steps.push(step);
      log(`    ${count} streams: ${opened} open at once after ${Math.round(openMs ?? 0)} ms, ${step.completed} completed, ${step.errors} errors; RSS ${fmtKB(step.rssPerStream)} and heap ${fmtKB(step.heapPerStream)} per stream`);
    } finally {
      if (gateway) await gateway.stop();
      await stopChild(fake);
    }
  }
  return { chunkGapMs, openFiles: limits, reserveFiles, steps };
}

function fmtKB(b) {
  return b === undefined ? 'n/a' : `${(b / 1024).toFixed(1)} KB`;
}
