// Fills an embedded-store (PGlite) data directory with the control plane's rows directly, through
// the gateway's own store modules (its migrations, its tables): 100 teams allowed every model and
// `keys` API keys spread over them, one secret each. Issuing 100,000 keys through the admin API
// would take minutes (each write reloads the snapshot); three INSERT … SELECT statements take
// seconds. The secret of key g (1-based) is storeKey(g); the gateway stores its SHA-256, as
// src/control/secrets.ts does.
//
//   fillControlStore({ dist, dir, keys })   → the open store (the caller closes it)
//   node control-store-fill.mjs '{"dist":"/abs/dist","dir":"/tmp/x","keys":100000}'
//       fills and closes, then prints {"keys":N,"fillMs":…} (the bench fills in a child process
//       on the load core, so PGlite's memory and CPU stay out of the orchestrator)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const storeKeyPrefix = 'sk-gw-bench-';
export const storeTeams = 100;

/** The secret of the g-th key (1 ≤ g ≤ keys). */
export function storeKey(g) {
  return `${storeKeyPrefix}${g}`;
}

/** `dist`: the gateway build to take the store modules from (a directory path). */
export async function fillControlStore({ dist, dir, keys }) {
  const base = pathToFileURL(`${resolve(dist)}/`).href;
  const { openEmbeddedStore } = await import(`${base}control/store/embedded-store.js`);
  const { migrate } = await import(`${base}control/store/migrate.js`);
  const store = await openEmbeddedStore(dir);
  await migrate(store);
  const n = Math.floor(Number(keys));
  if (!(n >= 1)) throw new Error(`keys must be a positive integer, got ${keys}`);
  await store.transaction(async (tx) => {
    await tx.exec(`INSERT INTO teams (name, models, metadata, created_at, updated_at)
      SELECT 'team-' || g, '["*"]', '{}', now(), now() FROM generate_series(1, ${storeTeams}) g`);
    await tx.exec(`INSERT INTO api_keys (id, team, role, metadata, prefix, created_at, created_by)
      SELECT 'key_' || lpad(to_hex(g), 16, '0'), 'team-' || (g % ${storeTeams} + 1), 'member', '{"owner":"bench"}', '${storeKeyPrefix.slice(0, -1)}', now(), 'bench'
      FROM generate_series(1, ${n}) g`);
    await tx.exec(`INSERT INTO api_key_secrets (digest, key_id, created_at)
      SELECT encode(sha256(convert_to('${storeKeyPrefix}' || g, 'UTF8')), 'hex'), 'key_' || lpad(to_hex(g), 16, '0'), now()
      FROM generate_series(1, ${n}) g`);
    await tx.exec('UPDATE control_state SET version = version + 1');
  });
  return store;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const spec = JSON.parse(process.argv[2]);
  const t0 = performance.now();
  const store = await fillControlStore(spec);
  await store.close();
  process.stdout.write(`${JSON.stringify({ keys: spec.keys, fillMs: performance.now() - t0 })}\n`);
}
