// Sequential load (concurrency 1): one request at a time on one keep-alive connection, each
// timed with process.hrtime from send to the end of its body: the latency a lone client sees,
// without queueing behind other requests.
//
//   node load-seq.mjs '<json spec>'   → prints one JSON line of results
// spec: { url, path, body, warmupMs, durationMs, keys: { prefix, count, seed } }
//   Every request carries `Authorization: Bearer <prefix><g>`, g drawn uniformly from 1..count by
//   a seeded generator (the same sequence for every target), so a gateway holding `count` keys
//   looks a different one up on nearly every request instead of hitting one hot entry.
import { Pool } from 'undici';
import { summarize } from './stats.mjs';

const spec = JSON.parse(process.argv[2]);
const pool = new Pool(spec.url, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });

// mulberry32: small, fast, and reproducible from the seed.
let state = (spec.keys.seed ?? 1) >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const latency = [];
let ok = 0;
let errors = 0;
const statusCounts = {};
const begin = performance.now();
const measureFrom = begin + spec.warmupMs;
const until = measureFrom + spec.durationMs;
for (let now = begin; now < until; now = performance.now()) {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${spec.keys.prefix}${1 + Math.floor(random() * spec.keys.count)}` };
  const t0 = process.hrtime.bigint();
  try {
    const res = await pool.request({ method: 'POST', path: spec.path, headers, body: spec.body });
    for await (const _chunk of res.body);
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    statusCounts[res.statusCode] = (statusCounts[res.statusCode] ?? 0) + 1;
    if (res.statusCode !== 200) errors++;
    else if (now >= measureFrom) {
      ok++;
      latency.push(us);
    }
  } catch {
    errors++;
  }
}
process.stdout.write(`${JSON.stringify({ ok, errors, statusCounts, latencyUs: summarize(latency) })}\n`);
await pool.destroy().catch(() => undefined);
process.exit(0);
