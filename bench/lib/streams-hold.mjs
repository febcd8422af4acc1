// Opens `count` concurrent streaming requests (the fake sends their chunks 500 ms apart, so they
// stay open ~10 s), prints {"open":n} once every stream has delivered its first chunk (or after
// openTimeoutMs), then waits for them to end and prints the final tally.
//   node streams-hold.mjs '<json spec>'   spec: { url, path, count, body, headerSets, openTimeoutMs, closeTimeoutMs }
// Streams that neither completed nor failed by the deadline count as errors.
import { Pool } from 'undici';

const spec = JSON.parse(process.argv[2]);
const pool = new Pool(spec.url, { connections: spec.count, pipelining: 1, keepAliveTimeout: 60_000, connectTimeout: 30_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
let open = 0;
let completed = 0;
let errors = 0;
let announced = false;
const announce = () => {
  if (announced) return;
  announced = true;
  process.stdout.write(`${JSON.stringify({ open })}\n`);
};

async function one(i) {
  try {
    const res = await pool.request({ method: 'POST', path: spec.path, headers: spec.headerSets[i % spec.headerSets.length], body: spec.body });
    let first = true;
    for await (const _chunk of res.body) {
      if (first) {
        first = false;
        if (res.statusCode === 200 && ++open === spec.count) announce();
      }
    }
    if (res.statusCode === 200) completed++;
    else errors++;
  } catch {
    errors++;
  }
}

const all = [];
// Open in batches so the accept queues are not flooded by thousands of SYNs at once.
for (let i = 0; i < spec.count; i += 250) {
  for (let j = i; j < Math.min(spec.count, i + 250); j++) all.push(one(j));
  await new Promise((r) => setTimeout(r, 30));
}
const timer = setTimeout(announce, spec.openTimeoutMs ?? 20_000);
// Streams last ~10 s once open; give up on stragglers after closeTimeoutMs so the phase is bounded.
await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, (spec.openTimeoutMs ?? 20_000) + (spec.closeTimeoutMs ?? 25_000)))]);
clearTimeout(timer);
announce();
errors += spec.count - completed - errors;
process.stdout.write(`${JSON.stringify({ open, completed, errors })}\n`);
await pool.destroy().catch(() => undefined);
process.exit(0);
