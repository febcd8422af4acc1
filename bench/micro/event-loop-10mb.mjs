// Event-loop delay of a gateway while 10 MB prompts arrive (issue 9 §2), after `npm run build`:
//   node bench/micro/event-loop-10mb.mjs [ROUNDS]
// One process: the gateway (dist/), two bare upstreams that drop the request body unparsed (a
// Triton one answering one word, whose every response the gateway counts, and an OpenAI-protocol
// one that streams a first chunk and waits 3 s, left by the client after that chunk, so the
// gateway counts the prompt for its record) and a client whose bodies are encoded before the
// measurement. ROUNDS (default 5) rounds of one request of each, 300 ms apart, plus the same
// body to a deployment that reports usage (nothing counted) as the baseline. Prints the delay
// histogram of perf_hooks.monitorEventLoopDelay (1 ms resolution) and the longest gap of a 5 ms
// interval timer, for each phase. Loopback only; stops by itself.
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { pino } from 'pino';
import { createGateway, resolveConfig } from '../../dist/index.js';

const rounds = Number(process.argv[2] ?? 5);
const KEY = 'sk-bench-0123456789abcdef';

async function upstream(answer) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

const triton = await upstream((res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"text_output":"ok"}'));
const openai = await upstream((res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write('data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"finish_reason":null}]}\n\n');
  const timer = setTimeout(() => res.end('data: [DONE]\n\n'), 3_000);
  res.on('close', () => clearTimeout(timer));
});
const reported = await upstream((res) =>
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end('{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}'),
);

const config = resolveConfig(
  {
    server: { host: '127.0.0.1', port: 0 },
    logging: { level: 'silent' },
    timeouts: { connectMs: 1_000, firstByteMs: 60_000, idleMs: 60_000, totalMs: 60_000 },
    deployments: { tr: { provider: 'triton', baseUrl: triton.url }, oa: { provider: 'vllm', baseUrl: openai.url }, rep: { provider: 'vllm', baseUrl: reported.url } },
    models: { tri: { targets: [{ deployment: 'tr', model: 'e' }] }, oai: { targets: [{ deployment: 'oa', model: 'm' }] }, rep: { targets: [{ deployment: 'rep', model: 'm' }] } },
    tenants: { main: { keys: [KEY], models: ['*'] } },
  },
  {},
);
const gateway = createGateway(config, { logger: pino({ level: 'silent' }) });
const { url } = await gateway.listen({ host: '127.0.0.1', port: 0 });
const client = new Agent();
const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };

// ≈ 9.5 MB in 16K-character messages of one letter: the tokenizer's slow case.
const content = 'x'.repeat(16 * 1024);
const messages = Array.from({ length: 580 }, () => ({ role: 'user', content }));
const body = (extra) => Buffer.from(JSON.stringify({ messages, ...extra }));
const bodies = { rep: body({ model: 'rep' }), tri: body({ model: 'tri' }), oai: body({ model: 'oai', stream: true, stream_options: { include_usage: true } }) };

async function send(model) {
  const controller = new AbortController();
  const res = await request(`${url}/v1/chat/completions`, { method: 'POST', headers, body: bodies[model], signal: controller.signal, dispatcher: client });
  if (res.statusCode !== 200) throw new Error(`${model}: ${res.statusCode} ${await res.body.text()}`);
  if (model !== 'oai') return void (await res.body.dump());
  for await (const _ of res.body) break; // leave after the first chunk
  controller.abort();
}

async function phase(label, models) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last - 5);
    last = now;
  }, 5);
  histogram.enable();
  const cpu = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    for (const model of models) await send(model);
    await sleep(300);
  }
  await sleep(500); // the left stream's record is written once the gateway notices
  histogram.disable();
  clearInterval(timer);
  const c = process.cpuUsage(cpu);
  const ms = (ns) => (ns / 1e6).toFixed(1);
  console.log(
    `${label}: event-loop delay p50 ${ms(histogram.percentile(50))} ms, p99 ${ms(histogram.percentile(99))} ms, max ${ms(histogram.max)} ms; ` +
      `longest 5 ms-timer gap ${maxGap.toFixed(0)} ms; CPU ${((c.user + c.system) / 1000 / rounds).toFixed(0)} ms per round`,
  );
}

await send('rep'); // warm up: JIT, tokenizer
await send('tri');
await phase('baseline (usage reported, nothing counted)', ['rep']);
await phase('Triton (every response counted) + OpenAI left before usage', ['tri', 'oai']);

await client.destroy();
await gateway.close();
for (const u of [triton, openai, reported]) u.server.close();
