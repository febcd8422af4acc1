// What the control plane costs a `serve` process: time to /ready and resident memory, without a
// control plane, with the embedded store (a new data directory, a restart on an existing one,
// `:memory:`), and with a PostgreSQL server when a URL to a scratch database is given:
//   node bench/micro/control-plane-memory.mjs [RUNS=3] [postgres://…/scratch_db]
// Each run spawns `node dist/main.js serve`, waits for /ready, sends 200 chat requests to a fake
// upstream, waits 1 s, reads VmRSS and VmHWM (peak) from /proc, and kills the process. Linux only.
// The server's database gets the control plane's tables: give it one made for this.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeUpstream } from '../../dist/testing/fake-upstream/fake-upstream.js';

const entry = resolve('dist/main.js');
const runs = Number(process.argv[2] ?? 3);
const serverUrl = process.argv[3];
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef0123456789abcdef';
const TENANT_KEY = 'sk-bench-tenant-0123456789';

const fake = await FakeUpstream.start({ dialect: 'openai' });
const work = mkdtempSync(join(tmpdir(), 'llm-gateway-cp-memory-'));
const admin = { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' };
const config = (extra) => ({
  server: { host: '127.0.0.1', port: 0 },
  logging: { level: 'warn' },
  deployments: { d: { provider: 'openai', baseUrl: fake.baseUrl } },
  models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'x' }] } },
  tenants: { t: { keys: [TENANT_KEY] } },
  ...extra,
});
const variants = {
  'no control plane': () => config({}),
  'embedded, new data directory': (run) => config({ admin, state: { database: { dataDir: join(work, `new-${run}`) } } }),
  'embedded, restart on existing data': () => config({ admin, state: { database: { dataDir: join(work, 'existing') } } }),
  "embedded, ':memory:'": () => config({ admin, state: { database: { dataDir: ':memory:' } } }),
  ...(serverUrl ? { 'PostgreSQL server': () => config({ admin, state: { database: { url: serverUrl } } }) } : {}),
};

function freePort() {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field) => Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]) / 1024);
  return { rss: mb('VmRSS'), peak: mb('VmHWM') };
}

async function once(name, run) {
  const file = join(work, 'config.yaml');
  writeFileSync(file, JSON.stringify(variants[name](run)));
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [entry, 'serve', '--config', file, '--port', String(port)], {
    env: { PATH: process.env.PATH, GATEWAY_ADMIN_KEY: ADMIN_KEY },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    let readyMs;
    while (readyMs === undefined) {
      if (performance.now() - started > 120_000) throw new Error(`${name}: not ready within 120 s`);
      const res = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined);
      if (res?.status === 200) readyMs = performance.now() - started;
      else await new Promise((ok) => setTimeout(ok, 20));
    }
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TENANT_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await res.text();
    }
    await new Promise((ok) => setTimeout(ok, 1_000));
    return { readyMs: Math.round(readyMs), ...memory(child.pid) };
  } finally {
    const exited = new Promise((ok) => child.once('exit', ok));
    child.kill('SIGKILL');
    await exited;
  }
}

// The data directory a restart finds: made once, before the runs.
if (variants['embedded, restart on existing data']) await once('embedded, restart on existing data', -1);
const results = new Map(Object.keys(variants).map((n) => [n, []]));
for (let run = 0; run < runs; run++) {
  // Interleaved, so a machine that gets busier during the runs weighs on every variant alike.
  for (const name of Object.keys(variants)) results.get(name).push(await once(name, run));
}
await fake.close();
rmSync(work, { recursive: true, force: true });

const range = (xs) => (Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}–${Math.max(...xs)}`);
console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}, ${runs} runs each\n`);
console.log('| serve process | ready after (ms) | RSS after 200 requests (MB) | peak RSS (MB) |');
console.log('|---|---|---|---|');
for (const [name, rows] of results) {
  console.log(`| ${name} | ${range(rows.map((r) => r.readyMs))} | ${range(rows.map((r) => r.rss))} | ${range(rows.map((r) => r.peak))} |`);
}
