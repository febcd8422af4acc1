// A zero-latency OpenAI-compatible upstream for the benchmark, deliberately leaner than
// src/testing/fake-upstream (which records every request and parses every body for the tests):
// here the fake must cost as little as possible, because it shares a core with the load generator.
//
//   node fake-upstream.mjs --ports 0,0,0 [--chunks 20] [--gap-ms 1] [--hold-gap-ms 500]
//
// Prints one JSON line {"ports":[…]} once listening. Non-streaming chat answers a fixed
// completion; `"stream":true` answers `chunks` SSE chunks `gap-ms` apart (0: back to back),
// then a usage chunk and [DONE]. A body containing "bench-hold" streams its chunks 500 ms
// (hold-gap-ms) apart (the open-stream memory phase); after `POST /bench/release` every such stream, open or
// still to come, ends at its next chunk (usage and [DONE] as usual), so a sweep that has read
// the memory of N open streams need not wait for `chunks` × 500 ms (the sweeps start a fake of
// their own for this).
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { ports: { type: 'string', default: '0' }, chunks: { type: 'string', default: '20' }, 'gap-ms': { type: 'string', default: '1' }, 'hold-gap-ms': { type: 'string', default: '500' } } });
const chunkCount = Number(values.chunks);
const gapMs = Number(values['gap-ms']);
const holdGapMs = Number(values['hold-gap-ms']);

const completion = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench0000000000000000000000',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'bench-upstream-model',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Pooling reuses warm connections, so requests skip the handshake. It also bounds the load each upstream sees.' }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 38, completion_tokens: 24, total_tokens: 62 },
    system_fingerprint: 'fp_bench',
  }),
);
const jsonHeaders = { 'content-type': 'application/json', 'content-length': String(completion.length) };
const sseHeaders = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

const chunkFrames = [];
for (let i = 0; i < chunkCount; i++) {
  const delta = i === 0 ? { role: 'assistant', content: 'tok ' } : { content: `tok${i} ` };
  chunkFrames.push(`data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'bench-upstream-model', choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] })}\n\n`);
}
const tail =
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'bench-upstream-model', choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] })}\n\n` +
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'bench-upstream-model', choices: [], usage: { prompt_tokens: 38, completion_tokens: chunkCount, total_tokens: 38 + chunkCount } })}\n\n` +
  'data: [DONE]\n\n';

/** Set by POST /bench/release: held streams end at their next chunk. */
let holdReleased = false;

function stream(res, gap, hold) {
  res.writeHead(200, sseHeaders);
  let i = 0;
  const next = () => {
    if (res.destroyed) return;
    if (i < chunkFrames.length && !(hold && holdReleased)) {
      res.write(chunkFrames[i++]);
      if (gap > 0) setTimeout(next, gap);
      else setImmediate(next);
    } else {
      res.end(tail);
    }
  };
  next();
}

function handle(req, res) {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    if (req.method !== 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
      return;
    }
    if (req.url === '/bench/release') {
      holdReleased = true;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"released":true}');
      return;
    }
    const body = parts.length === 1 ? parts[0].toString('latin1') : Buffer.concat(parts).toString('latin1');
    if (/"stream"\s*:\s*true/.test(body)) {
      const hold = body.includes('bench-hold');
      stream(res, hold ? holdGapMs : gapMs, hold);
    } else res.writeHead(200, jsonHeaders).end(completion);
  });
}

const ports = [];
for (const p of values.ports.split(',')) {
  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  server.maxHeadersCount = 100;
  await new Promise((resolve) => server.listen(Number(p), '127.0.0.1', resolve));
  ports.push(server.address().port);
}
process.stdout.write(`${JSON.stringify({ ports })}\n`);
process.on('SIGTERM', () => process.exit(0));
