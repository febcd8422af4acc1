// The control plane at scale, on the embedded store (after `npm run build`):
//   [DIST=dist] node --expose-gc bench/micro/control-snapshot.mjs [KEYS=10000,50000] [SECONDS=5]
// For each key count: fills a PGlite data directory (bench/lib/control-store-fill.mjs: 100 teams,
// KEYS keys with one secret each),
// then measures
//   1. loadSnapshot() alone: time, heap held by the snapshot, event-loop delay while it runs;
//   2. a gateway started on that directory: time to listen (first snapshot included), RSS;
//   3. data-plane latency (sequential chat calls with a store key) at rest, and while admin
//      writes run back to back (each reloads the whole snapshot before it answers), with the
//      event-loop delay and the admin write rate (1 writer, then 8 concurrent writers).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { request } from 'undici';
import { fillControlStore, storeKey } from '../lib/control-store-fill.mjs';

// DIST=path/to/dist measures another build (an A/B of one change); default ./dist.
const distDir = resolve(process.env.DIST ?? 'dist');
const dist = pathToFileURL(distDir + '/').href;
const { createGateway } = await import(`${dist}app.js`);
const { resolveConfig } = await import(`${dist}config/load.js`);
const { loadSnapshot } = await import(`${dist}control/load-snapshot.js`);
const { FakeUpstream } = await import(`${dist}testing/fake-upstream/fake-upstream.js`);

const counts = (process.argv[2] ?? '10000,50000').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 5);
const ADMIN_KEY = 'bench-bootstrap-admin-key-0123456789abcdef';
const gc = () => globalThis.gc?.();
const ms = (n) => Math.round(n * 10) / 10;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function measureLoad(store) {
  const out = [];
  for (let i = 0; i < 3; i++) {
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    // The longest the event loop went without running a timer while the load ran.
    let last = performance.now();
    let longest = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 1);
    const t0 = performance.now();
    const snapshot = await loadSnapshot(store.db);
    const took = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
    clearInterval(tick);
    gc();
    out.push({ ms: ms(took), heldMB: ms((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20), longestBlockMs: ms(longest), keys: snapshot.keys.size });
  }
  return out;
}

async function chatOnce(url, key) {
  const t0 = performance.now();
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'g', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(`chat answered ${res.statusCode}`);
  return performance.now() - t0;
}

async function adminWrite(url) {
  const t0 = performance.now();
  const res = await request(`${url}/admin/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ team: 'team-1' }),
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  await res.body.text();
  if (res.statusCode !== 201) throw new Error(`admin write answered ${res.statusCode}`);
  return performance.now() - t0;
}

/** Sequential chat calls for `seconds`, with `writers` admin writers running meanwhile. */
async function phase(url, writers) {
  const until = performance.now() + seconds * 1000;
  const chats = [];
  const writes = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  await Promise.all([
    (async () => {
      while (performance.now() < until) chats.push(await chatOnce(url, storeKey(1)));
    })(),
    ...Array.from({ length: writers }, async () => {
      while (performance.now() < until) writes.push(await adminWrite(url));
    }),
  ]);
  loop.disable();
  return {
    writers,
    chat: { n: chats.length, p50: ms(pct(chats, 50)), p99: ms(pct(chats, 99)), max: ms(Math.max(...chats)) },
    ...(writers > 0 ? { adminWrites: { perSecond: ms(writes.length / seconds), p50: ms(pct(writes, 50)), max: ms(Math.max(...writes)) } } : {}),
    eventLoop: { p99Ms: ms(loop.percentile(99) / 1e6), maxMs: ms(loop.max / 1e6) },
  };
}

for (const keys of counts) {
  const dir = mkdtempSync(join(tmpdir(), 'llm-gateway-snapshot-bench-'));
  const fake = await FakeUpstream.start({ dialect: 'openai' });
  try {
    const t0 = performance.now();
    const store = await fillControlStore({ dist: distDir, dir, keys });
    const fillMs = performance.now() - t0;
    const load = await measureLoad(store);
    await store.close();
    const config = resolveConfig(
      {
        server: { host: '127.0.0.1', port: 0 },
        logging: { level: 'silent' },
        deployments: { d: { provider: 'openai', baseUrl: fake.baseUrl } },
        models: { g: { targets: [{ deployment: 'd', model: 'm' }] } },
        tenants: { main: { keys: ['sk-bench-config-key-0123'], models: ['*'] } },
        admin: { bootstrapKey: '${env:ADMIN}' },
        state: { database: { dataDir: dir } },
      },
      { ADMIN: ADMIN_KEY },
    );
    const gateway = createGateway(config, { logger: pino({ level: 'silent' }) });
    gc();
    const rssBefore = process.memoryUsage().rss;
    const s0 = performance.now();
    const { url } = await gateway.listen({ host: '127.0.0.1', port: 0 });
    const listenMs = performance.now() - s0;
    gc();
    const rssMB = ms((process.memoryUsage().rss - rssBefore) / 2 ** 20);
    for (let i = 0; i < 50; i++) await chatOnce(url, storeKey(1)); // warm-up
    const phases = [await phase(url, 0), await phase(url, 1), await phase(url, 8)];
    await gateway.close();
    console.log(JSON.stringify({ keys, fillMs: ms(fillMs), loadSnapshot: load, gateway: { listenMs: ms(listenMs), rssAddedMB: rssMB }, phases }, null, 2));
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
