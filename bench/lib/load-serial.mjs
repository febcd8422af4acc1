// Closed loop on one connection (c=1): each request is sent as soon as the previous answer has
// been read to its end, so nothing queues and the latency is what the target adds to one
// request on an otherwise idle path. Timed with process.hrtime in µs: autocannon reports whole
// milliseconds, coarser than the tens of µs compared here (the c1 phase, the keys sweep).
//
//   node load-serial.mjs '<json spec>'   → prints one JSON line of results
// spec: { url, path, body, durationMs, warmupMs?, headerSets?: [{…}], keys?: { prefix, count, seed } }
//   headerSets: used in turn. keys: every request carries `Authorization: Bearer <prefix><g>`, g
//   drawn uniformly from 1..count by a seeded generator (the same sequence for every target), so
//   a gateway holding `count` keys looks a different one up on nearly every request instead of
//   hitting one hot entry. Requests in the first warmupMs are sent but not counted.
import { Client } from 'undici';
import { summarize } from './stats.mjs';

const spec = JSON.parse(process.argv[2]);
const client = new Client(spec.url, { pipelining: 1, keepAliveTimeout: 60_000 });

// mulberry32: small, fast, and reproducible from the seed.
let state = (spec.keys?.seed ?? 1) >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const headersFor = spec.keys
  ? () => ({ 'content-type': 'application/json', authorization: `Bearer ${spec.keys.prefix}${1 + Math.floor(random() * spec.keys.count)}` })
  : (i) => spec.headerSets[i % spec.headerSets.length];

const latency = [];
let ok = 0;
let errors = 0;
const statusCounts = {};
const started = process.hrtime.bigint();
const measureFrom = started + BigInt(Math.round((spec.warmupMs ?? 0) * 1e6));
const until = measureFrom + BigInt(Math.round(spec.durationMs * 1e6));

for (let i = 0; ; i++) {
  const sent = process.hrtime.bigint();
  if (sent >= until) break;
  const counted = sent >= measureFrom;
  try {
    const res = await client.request({ method: 'POST', path: spec.path, headers: headersFor(i), body: spec.body });
    for await (const _chunk of res.body);
    if (!counted) continue;
    statusCounts[res.statusCode] = (statusCounts[res.statusCode] ?? 0) + 1;
    if (res.statusCode === 200) {
      ok++;
      latency.push(Number(process.hrtime.bigint() - sent) / 1000);
    } else {
      errors++;
    }
  } catch {
    if (counted) errors++;
  }
}

const seconds = Number(process.hrtime.bigint() - measureFrom) / 1e9;
process.stdout.write(`${JSON.stringify({ ok, errors, statusCounts, requestsPerSec: ok / seconds, seconds, latencyUs: summarize(latency) })}\n`);
await client.close().catch(() => undefined);
process.exit(0);
