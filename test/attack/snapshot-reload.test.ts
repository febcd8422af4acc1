import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { applyChange } from '../../src/control/change.js';
import { KEY_PAGE, loadSnapshot } from '../../src/control/load-snapshot.js';
import { openEmbeddedStore } from '../../src/control/store/embedded-store.js';
import { migrate } from '../../src/control/store/migrate.js';
import type { ControlStore } from '../../src/control/store/store.js';
import { ControlSync } from '../../src/control/sync.js';

/**
 * The embedded database runs on the gateway's own thread, and every admin write reloads the
 * whole snapshot. With 10,000 keys one reload held the event loop for 0.3-1 s, twice per write
 * (the write's own reload, then again for its own notification): every request on the data
 * plane waited. A reload must yield to requests while it reads, and a notification for a version
 * already loaded must not reload.
 */
let store: ControlStore;
const KEYS = 3 * KEY_PAGE + 7;

beforeAll(async () => {
  store = await openEmbeddedStore(':memory:');
  await migrate(store);
  await store.transaction(async (tx) => {
    await tx.exec(`INSERT INTO teams (name, models, metadata, created_at, updated_at) VALUES ('t', '["*"]', '{}', now(), now())`);
    await tx.exec(`INSERT INTO api_keys (id, team, role, metadata, prefix, created_at, created_by, expires_at)
      SELECT 'key_' || lpad(to_hex(g), 16, '0'), 't', 'member', '{}', 'sk-gw-x', now(), 'test', CASE WHEN g = 1 THEN '2030-01-01T00:00:00Z'::timestamptz END
      FROM generate_series(1, ${KEYS}) g`);
    await tx.exec(`INSERT INTO api_key_secrets (digest, key_id, created_at, retires_at)
      SELECT md5('s' || g) || md5('t' || g), 'key_' || lpad(to_hex(g), 16, '0'), now(), CASE WHEN g = 2 THEN '2031-01-01T00:00:00Z'::timestamptz END
      FROM generate_series(1, ${KEYS}) g`);
    await tx.exec('UPDATE control_state SET version = version + 1');
  });
}, 60_000);
afterAll(() => store?.close());

describe('snapshot reloads with many keys', () => {
  it('let other work run while a large snapshot loads, and read every key whole', async () => {
    let turns = 0;
    let running = true;
    const spin = (): void => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const snapshot = await loadSnapshot(store.db);
    running = false;
    expect(snapshot.keys.size).toBe(KEYS);
    // At least one turn of the event loop between each page of keys.
    expect(turns).toBeGreaterThanOrEqual(Math.floor(KEYS / KEY_PAGE));
    const byId = new Map([...snapshot.keys.values()].map((e) => [e.key.id, e]));
    expect(byId.get('key_0000000000000001')?.key.expiresAtMs).toBe(Date.parse('2030-01-01T00:00:00Z'));
    expect(byId.get('key_0000000000000002')?.retiresAtMs).toBe(Date.parse('2031-01-01T00:00:00Z'));
    expect(byId.get('key_0000000000000003')).toMatchObject({ retiresAtMs: undefined, key: { team: 't', role: 'member', models: null, limits: null, expiresAtMs: undefined } });
  });

  it('reloads once per change: its own notification, or a refresh with nothing new, costs no second load', async () => {
    let loads = 0;
    const sync = new ControlSync(store, { resyncMs: 3_600_000, lastUsedFlushMs: 3_600_000, clock: systemClock, onLoaded: () => loads++ });
    try {
      await sync.start();
      expect(loads).toBe(1);
      const version = sync.snapshot.version;
      await applyChange(store.db, new Date(), async (tx) => {
        await tx.execute(sql`UPDATE api_keys SET name = 'renamed' WHERE id = 'key_0000000000000003'`);
        return { result: undefined, audit: [] };
      });
      // What an admin write does after its change: reload before answering.
      await sync.refresh();
      expect(sync.snapshot.version).toBe(version + 1);
      expect(loads).toBe(2);
      // Its notification arrives now (or already has): no second full load.
      await sync.refresh();
      await sync.refresh();
      expect(loads).toBe(2);
    } finally {
      await sync.close();
    }
  });
});
