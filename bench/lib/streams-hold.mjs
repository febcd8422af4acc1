// Opens `count` concurrent streaming requests (the fake sends their chunks 500 ms apart, so they
// would stay open ~10 s), prints {"open":n} once every stream has delivered its first chunk (or
// after openTimeoutMs), keeps them open holdMs more so the parent can read the gateway's memory,
// then disconnects them all and prints the final tally.
// With `complete: true` it never disconnects: the first line also says how many streams are
// still open ("active"), every stream is read to its end (the upstream ends them), and the final
// tally counts the streams that ended with `data: [DONE]` (waiting at most completeTimeoutMs
// after all opened): {"open","completed","errors","rejected"}.
// `maxOpening` paces the opening: at most that many streams wait for their first chunk at once,
// so a slow server is not sent thousands of connections its accept queue would drop (their
// retried SYNs then arrive seconds later, or time out).
//   node streams-hold.mjs '<json spec>'
//   spec: { url, path, count, body, headerSets, openTimeoutMs, holdMs, complete, completeTimeoutMs, maxOpening }
import { Pool } from 'undici';

const spec = JSON.parse(process.argv[2]);
const pool = new Pool(spec.url, { connections: spec.count, pipelining: 1, keepAliveTimeout: 60_000, connectTimeout: 30_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
let open = 0;
let failed = 0;
let completed = 0;
let ended = 0;
/** Streams requested that have not delivered their first chunk (nor failed) yet. */
let opening = 0;
const done = '\n\ndata: [DONE]\n\n';
let announced = false;
let resolveOpen;
const allOpen = new Promise((r) => (resolveOpen = r));
const announce = () => {
  if (announced) return;
  announced = true;
  process.stdout.write(`${JSON.stringify(spec.complete ? { open, active: open - ended } : { open })}\n`);
  resolveOpen();
};

async function one(i) {
  let first = true;
  opening++;
  try {
    const res = await pool.request({ method: 'POST', path: spec.path, headers: spec.headerSets[i % spec.headerSets.length], body: spec.body });
    if (res.statusCode !== 200) {
      failed++;
      await res.body.dump();
      return;
    }
    // The last bytes read: whether the stream ended with [DONE] (chunks may split the marker).
    let tail = '';
    for await (const chunk of res.body) {
      if (first) {
        first = false;
        opening--;
        if (++open === spec.count) announce();
      }
      if (spec.complete) tail = (tail + chunk.toString('latin1')).slice(-done.length);
    }
    if (spec.complete && tail === done) completed++;
  } catch {
    // Disconnected by us at the end, or failed: counted from `open` below.
  } finally {
    if (first) opening--;
    else ended++;
  }
}

const timer = setTimeout(announce, spec.openTimeoutMs ?? 20_000);
// Open in batches so the accept queues are not flooded by thousands of SYNs at once.
const streams = [];
for (let i = 0; i < spec.count; ) {
  const batch = Math.min(250, spec.count - i, (spec.maxOpening ?? Infinity) - opening);
  for (let j = 0; j < batch; j++) streams.push(one(i++));
  await new Promise((r) => setTimeout(r, 30));
}
await allOpen;
clearTimeout(timer);
if (spec.complete) {
  const opened = open;
  let giveUp;
  await Promise.race([Promise.all(streams), new Promise((r) => (giveUp = setTimeout(r, spec.completeTimeoutMs ?? 60_000)))]);
  clearTimeout(giveUp);
  process.stdout.write(`${JSON.stringify({ open: opened, completed, errors: spec.count - completed, rejected: failed })}\n`);
} else {
  await new Promise((r) => setTimeout(r, spec.holdMs ?? 2000));
  process.stdout.write(`${JSON.stringify({ open, errors: spec.count - open, rejected: failed })}\n`);
}
await pool.destroy().catch(() => undefined);
process.exit(0);
