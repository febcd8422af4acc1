// Closed loop on one connection (c=1): each request is sent as soon as the previous answer has
// been read to its end, so nothing queues and the latency is what the target adds to one
// request on an otherwise idle path. Timed with process.hrtime in µs: autocannon reports whole
// milliseconds, coarser than the tens of µs this phase compares.
//
//   node load-serial.mjs '<json spec>'   → prints one JSON line of results
// spec: { url, path, durationMs, body, headerSets: [{…}] }
import { Client } from 'undici';
import { summarize } from './stats.mjs';

const spec = JSON.parse(process.argv[2]);
const client = new Client(spec.url, { pipelining: 1, keepAliveTimeout: 60_000 });

const latency = [];
let ok = 0;
let errors = 0;
const statusCounts = {};
const started = process.hrtime.bigint();
const until = started + BigInt(Math.round(spec.durationMs * 1e6));

for (let i = 0; ; i++) {
  const sent = process.hrtime.bigint();
  if (sent >= until) break;
  try {
    const res = await client.request({ method: 'POST', path: spec.path, headers: spec.headerSets[i % spec.headerSets.length], body: spec.body });
    statusCounts[res.statusCode] = (statusCounts[res.statusCode] ?? 0) + 1;
    for await (const _chunk of res.body);
    if (res.statusCode === 200) {
      ok++;
      latency.push(Number(process.hrtime.bigint() - sent) / 1000);
    } else {
      errors++;
    }
  } catch {
    errors++;
  }
}

const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(`${JSON.stringify({ ok, errors, statusCounts, requestsPerSec: ok / seconds, seconds, latencyUs: summarize(latency) })}\n`);
await client.close().catch(() => undefined);
process.exit(0);
