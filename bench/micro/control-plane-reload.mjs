// How long one snapshot reload of the control plane takes, and how long it holds the event loop,
// with 10, 1,000 and 10,000 API keys: every admin change makes each replica reload the whole
// snapshot. On the embedded store (default) or on a PostgreSQL server (a scratch database: the
// tables are created there, and their rows replaced):
//   node bench/micro/control-plane-reload.mjs [postgres://…/scratch_db]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadSnapshot } from '../../dist/control/load-snapshot.js';
import { openStore } from '../../dist/control/store/open-store.js';

const url = process.argv[2];
const { store } = await openStore({ url, dataDir: ':memory:', poolSize: 2, connectTimeoutMs: 2_000, statementTimeoutMs: 30_000 }, () => undefined);
console.log(`${store.kind} store\n`);
console.log('| API keys | reload, median (ms) | reload, slowest of 10 (ms) | longest event-loop delay (ms) |');
console.log('|---|---|---|---|');
try {
  for (const keys of [10, 1_000, 10_000]) {
    const teams = Math.max(1, keys / 10);
    await store.transaction(async (tx) => {
      await tx.exec('DELETE FROM api_key_secrets; DELETE FROM api_keys; DELETE FROM teams;');
      await tx.exec(`INSERT INTO teams (name, models, metadata, created_at, updated_at) SELECT 'team' || i, '["*"]', '{}', now(), now() FROM generate_series(1, ${teams}) i`);
      await tx.exec(`INSERT INTO api_keys (id, team, role, prefix, metadata, created_at, created_by) SELECT 'key_' || i, 'team' || (1 + i % ${teams}), 'member', 'sk-gw-abcdef', '{}', now(), 'bench' FROM generate_series(1, ${keys}) i`);
      await tx.exec(`INSERT INTO api_key_secrets (digest, key_id, created_at) SELECT md5(i::text) || md5((i + 1)::text), 'key_' || i, now() FROM generate_series(1, ${keys}) i`);
    });
    await loadSnapshot(store.db); // warm-up
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const ms = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const snapshot = await loadSnapshot(store.db);
      ms.push(performance.now() - started);
      if (snapshot.keys.size !== keys) throw new Error(`snapshot has ${snapshot.keys.size} keys, not ${keys}`);
      await new Promise((ok) => setTimeout(ok, 10));
    }
    delay.disable();
    ms.sort((a, b) => a - b);
    console.log(`| ${keys.toLocaleString('en')} | ${ms[5].toFixed(0)} | ${ms[9].toFixed(0)} | ${(delay.max / 1e6).toFixed(0)} |`);
  }
} finally {
  await store.close();
}
