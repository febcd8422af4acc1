// Resident memory of the gateway process idle after start, with the benchmark's config (3
// OpenAI deployments, 100 tenants, memory state, JSON logs):
//   node bench/micro/startup-memory.mjs [ENTRY=dist/main.js] [RUNS=5]
// Each run spawns `node --expose-gc ENTRY serve --config <bench config> --port 0`, waits for the
// "listening" log line and 1 s more, then reads process.memoryUsage() inside the process (a
// preloaded probe), before and after two full GCs. Prints the median of the runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { gatewayConfig } from '../lib/workload.mjs';

const entry = resolve(process.argv[2] ?? 'dist/main.js');
const runs = Number(process.argv[3] ?? 5);
const probe = `process.on('message', (m) => {
  if (m !== 'mem') return;
  const before = process.memoryUsage();
  globalThis.gc(); globalThis.gc();
  process.send({ before, after: process.memoryUsage() });
});
process.channel?.unref();`;

const configFile = join(mkdtempSync(join(tmpdir(), 'llm-gateway-mem-')), 'gateway.yaml');
// Idle memory needs no upstream: nothing is called, so the ports need not be open.
writeFileSync(configFile, JSON.stringify(gatewayConfig([1, 2, 3], { maxConnections: 1024 }), null, 2));

async function once() {
  const args = ['--expose-gc', '--import', `data:text/javascript,${encodeURIComponent(probe)}`, entry, 'serve', '--config', configFile, '--port', '0'];
  const child = spawn(process.execPath, args, { env: { ...process.env, BENCH_UPSTREAM_KEY: 'sk-upstream-bench' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  try {
    const lines = createInterface({ input: child.stdout });
    for await (const line of lines) if (line.includes('llm-gateway listening')) break;
    child.stdout.resume();
    await new Promise((r) => setTimeout(r, 1000));
    child.send('mem');
    return await new Promise((r) => child.once('message', r));
  } finally {
    child.kill('SIGKILL');
  }
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await once());
const mb = (n) => (n / 1024 / 1024).toFixed(1);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const row = (when) => ['rss', 'heapUsed', 'heapTotal', 'external'].map((k) => `${k} ${mb(median(results.map((r) => r[when][k])))}`).join('  ');
console.log(`${entry}: median of ${runs} runs, MB`);
console.log(`  idle      ${row('before')}`);
console.log(`  after gc  ${row('after')}`);
console.log(`  rss each  ${results.map((r) => mb(r.before.rss)).join(' ')}`);
