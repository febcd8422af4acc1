// Open-loop load generator: requests are sent on a fixed schedule (rate per second) whatever the
// responses do, and each latency is measured from the moment the request was *scheduled*, so a
// stalled server cannot hide its queue by slowing the client down (no coordinated omission).
// autocannon's overallRate is closed-loop underneath (a connection waits for its response before
// sending again), so it under-reports latency near saturation; this is used instead.
//
//   node load-open.mjs '<json spec>'   → prints one JSON line of results
// spec: { url, path, rate, durationMs, warmupMs, body, headerSets: [{…}], stream, connections, drainMs }
//   or, instead of `body`, `bodiesFile`: a JSON file holding an array of bodies, request i sending
//   bodies[i % length] (many or large bodies do not fit in one argument: Linux caps it at 128 KB).
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { summarize } from './stats.mjs';

const spec = JSON.parse(process.argv[2]);
const pool = new Pool(spec.url, { connections: spec.connections ?? 512, pipelining: 1, keepAliveTimeout: 60_000 });
const bodies = spec.bodiesFile ? JSON.parse(readFileSync(spec.bodiesFile, 'utf8')) : [spec.body];
const intervalMs = 1000 / spec.rate;
const total = Math.max(1, Math.round((spec.rate * (spec.warmupMs + spec.durationMs)) / 1000));
const warmupCount = Math.round((spec.rate * spec.warmupMs) / 1000);

const latency = [];
const ttfb = [];
let ok = 0;
/** 200s including the warm-up's: what the gateway's CPU during the whole run is divided by. */
let served = 0;
let errors = 0;
let finished = 0;
let measuredStart = 0;
let measuredEnd = 0;
const statusCounts = {};

async function one(i, scheduled) {
  const headers = spec.headerSets[i % spec.headerSets.length];
  let first = 0;
  try {
    const res = await pool.request({ method: 'POST', path: spec.path, headers, body: bodies[i % bodies.length] });
    statusCounts[res.statusCode] = (statusCounts[res.statusCode] ?? 0) + 1;
    for await (const _chunk of res.body) if (first === 0) first = performance.now();
    const end = performance.now();
    if (res.statusCode === 200) served++;
    if (res.statusCode !== 200) {
      errors++;
    } else if (i >= warmupCount) {
      ok++;
      latency.push((end - scheduled) * 1000);
      if (spec.stream) ttfb.push((first - scheduled) * 1000);
      measuredEnd = Math.max(measuredEnd, end);
    }
  } catch {
    errors++;
  } finally {
    finished++;
  }
}

const t0 = performance.now() + 20;
let next = 0;
await new Promise((resolve) => {
  const tick = () => {
    const now = performance.now();
    while (next < total && t0 + next * intervalMs <= now) {
      const scheduled = t0 + next * intervalMs;
      if (next === warmupCount) measuredStart = scheduled;
      void one(next, scheduled);
      next++;
    }
    if (next >= total) resolve();
    else setTimeout(tick, 1);
  };
  setTimeout(tick, 20);
});
const sendEnd = performance.now();
// Requests still outstanding after drainMs count as errors (a saturated server).
const deadline = sendEnd + (spec.drainMs ?? 5000);
while (finished < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
const outstanding = total - finished;
const measuredSeconds = Math.max(1e-3, (Math.max(measuredEnd, sendEnd) - measuredStart) / 1000);
const result = {
  offered: spec.rate,
  sent: total - warmupCount,
  ok,
  served,
  errors: errors + outstanding,
  achieved: ok / measuredSeconds,
  statusCounts,
  latencyUs: summarize(latency),
  ...(spec.stream ? { ttfbUs: summarize(ttfb) } : {}),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
await pool.destroy().catch(() => undefined);
process.exit(0);
