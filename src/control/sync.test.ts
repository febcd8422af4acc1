import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, sharedPostgresAvailable } from '../../test/helpers/postgres.js';
import { systemClock } from '../clock.js';
import { openStore } from './store/open-store.js';
import { apiKeys, controlState } from './store/schema.js';
import type { ControlStore } from './store/store.js';
import { ControlSync, type SyncOptions } from './sync.js';

const settings = { dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 };
const pgAvailable = await sharedPostgresAvailable();
const options: SyncOptions = { resyncMs: 3_600_000, lastUsedFlushMs: 3_600_000, clock: systemClock };

/**
 * The store with its loads under the test's control: `holdNextLoad()` lets the next snapshot
 * read run, then keeps it from finishing until released, and `inFlight`/`maxInFlight` count the
 * reads running at once. Notifications are the test's to send (`notify`).
 */
function controlled(store: ControlStore) {
  const handlers: Array<(payload: string | null) => void> = [];
  let hold: { read: () => void; released: Promise<void> } | undefined;
  const counters = { inFlight: 0, maxInFlight: 0, loads: 0 };
  const db = new Proxy(store.db, {
    get(target, prop) {
      if (prop === 'transaction') {
        return async (...args: Parameters<ControlStore['db']['transaction']>) => {
          const gate = hold;
          hold = undefined;
          counters.loads++;
          counters.maxInFlight = Math.max(counters.maxInFlight, ++counters.inFlight);
          try {
            const result = await target.transaction(...args);
            if (gate) {
              gate.read();
              await gate.released;
            }
            return result;
          } finally {
            counters.inFlight--;
          }
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store: { ...store, db, onChange: (h: (payload: string | null) => void) => void handlers.push(h) } as ControlStore,
    counters,
    notify: (payload: string | null) => handlers.forEach((h) => h(payload)),
    holdNextLoad(): { read: Promise<void>; release: () => void } {
      let read!: () => void;
      let release!: () => void;
      const readPromise = new Promise<void>((r) => (read = r));
      hold = { read, released: new Promise<void>((r) => (release = r)) };
      return { read: readPromise, release };
    },
  };
}

/** A committed change: the version bumped (what every admin change does). */
async function bump(store: ControlStore): Promise<number> {
  const [row] = await store.db
    .update(controlState)
    .set({ version: sql`${controlState.version} + 1` })
    .returning({ version: controlState.version });
  return row?.version ?? 0;
}

describe.each([
  ['embedded (PGlite)', false],
  ['postgres server', true],
] as const)('ControlSync on %s', (_label, server) => {
  let store: ControlStore;
  let drop: (() => Promise<void>) | undefined;
  const skip = server && !pgAvailable;

  beforeAll(async () => {
    if (skip) return;
    const url = server ? await createTestDatabase('sync').then((d) => ((drop = d.drop), d.url)) : undefined;
    ({ store } = await openStore({ ...settings, url }, () => undefined));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  it.skipIf(skip)('runs one load at a time: a refresh during the first load waits for it, then loads again', async () => {
    const c = controlled(store);
    const sync = new ControlSync(c.store, options);
    const held = c.holdNextLoad();
    const started = sync.start();
    await held.read;
    const version = await bump(store);
    const refreshed = sync.refresh();
    // Had the refresh started a load of its own, it would be running now, beside the first (and
    // could end before it, leaving the older snapshot in force).
    expect(c.counters.inFlight).toBe(1);
    held.release();
    await started;
    await refreshed;
    expect(c.counters.maxInFlight).toBe(1);
    expect(sync.snapshot.version).toBe(version);
    await sync.close();
  });

  it.skipIf(skip)('refresh() during a load resolves only after a load that saw what was committed before the call', async () => {
    const c = controlled(store);
    const sync = new ControlSync(c.store, options);
    await sync.start();
    const held = c.holdNextLoad();
    // A change, so the running refresh really loads (one that finds its version current stops after one small read).
    await bump(store);
    const running = sync.refresh();
    await held.read;
    // An admin write commits, and the admin API refreshes before answering.
    const version = await bump(store);
    const mine = sync.refresh();
    held.release();
    await running;
    await mine;
    expect(sync.snapshot.version).toBe(version);
    await sync.close();
  });

  it.skipIf(skip)('calls during a load coalesce into one more load', async () => {
    const c = controlled(store);
    const sync = new ControlSync(c.store, options);
    await sync.start();
    const loadsBefore = c.counters.loads;
    const held = c.holdNextLoad();
    await bump(store);
    const calls = [sync.refresh()];
    await held.read;
    await bump(store);
    for (let i = 0; i < 100; i++) calls.push(sync.refresh());
    held.release();
    await Promise.all(calls);
    expect(c.counters.loads - loadsBefore).toBe(2);
    await sync.close();
  });

  it.skipIf(skip)("writes the keys' lastUsedAt in one batch, never moving it back", async () => {
    const now = Date.now();
    const row = { team: 't', role: 'member' as const, metadata: {}, prefix: 'sk-gw-xxxxxx', createdAt: new Date(now), createdBy: 'test' };
    await store.db.insert(apiKeys).values([
      { ...row, id: 'key_used_a' },
      { ...row, id: 'key_used_b', lastUsedAt: new Date(now + 60_000) },
    ]);
    const sync = new ControlSync(store, { ...options, clock: { ...systemClock, wallMs: () => now } });
    await sync.start();
    sync.touch('key_used_a');
    sync.touch('key_used_b');
    await sync.flushLastUsed();
    const [a] = await store.db.select().from(apiKeys).where(eq(apiKeys.id, 'key_used_a'));
    const [b] = await store.db.select().from(apiKeys).where(eq(apiKeys.id, 'key_used_b'));
    expect(a?.lastUsedAt?.getTime()).toBe(now);
    expect(b?.lastUsedAt?.getTime()).toBe(now + 60_000);
    await sync.close();
  });
});
