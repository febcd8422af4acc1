/**
 * Hostile cases for the control plane's store and sync, on real sockets: a listening connection
 * that comes up after the first snapshot, one that dies without a word (frozen by a proxy), a
 * storm of changes, and a second process (or a second open in this one) on the embedded
 * store's data directory.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock.js';
import { openEmbeddedStore } from '../src/control/store/embedded-store.js';
import { migrate } from '../src/control/store/migrate.js';
import { openStore } from '../src/control/store/open-store.js';
import { openPostgresStore, type PostgresStoreOptions } from '../src/control/store/postgres-store.js';
import { controlState } from '../src/control/store/schema.js';
import { changeChannel, type ControlStore } from '../src/control/store/store.js';
import { ControlSync, NOTIFIED_LOAD_SPACING_MS, type SyncOptions } from '../src/control/sync.js';
import { pollUntil } from './helpers/harness.js';
import { createTestDatabase, sharedPostgresAvailable } from './helpers/postgres.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const available = await sharedPostgresAvailable();
const LISTEN_TEXT = `LISTEN ${changeChannel}`;
/** No resync in these tests: only notifications (and the store's null) can bring a change. */
const syncOptions: SyncOptions = { resyncMs: 3_600_000, lastUsedFlushMs: 3_600_000, clock: systemClock };
const measured: Record<string, number> = {};

/** A change as applyChange makes it: the version bumped and announced, in one transaction. */
async function change(writer: ControlStore): Promise<number> {
  return writer.db.transaction(async (tx) => {
    const [row] = await tx
      .update(controlState)
      .set({ version: sql`${controlState.version} + 1` })
      .returning({ version: controlState.version });
    await tx.execute(sql`SELECT pg_notify(${changeChannel}, ${String(row?.version ?? 0)})`);
    return row?.version ?? 0;
  });
}

describe.skipIf(!available)('control plane on PostgreSQL: hostile cases', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let writer: ControlStore;
  const opened: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    database = await createTestDatabase('hostile');
    ({ store: writer } = await openStore({ url: database.url, dataDir: ':memory:', poolSize: 8, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 }, () => undefined));
  }, 30_000);
  afterAll(async () => {
    for (const o of opened.reverse()) await o.close().catch(() => undefined);
    await writer?.close();
    await database?.drop();
    console.log(`[control-plane hostile] measured: ${JSON.stringify(measured)}`);
  });

  /** A replica's store and sync, through a proxy of its own. */
  async function replica(extra: Partial<PostgresStoreOptions> = {}, onLoaded?: () => void, before?: (proxy: TcpProxy) => void): Promise<{ store: ControlStore; sync: ControlSync; proxy: TcpProxy; errors: Error[] }> {
    const proxy = await startTcpProxy(5432);
    opened.push(proxy);
    before?.(proxy);
    const url = new URL(database.url);
    url.port = String(proxy.port);
    const errors: Error[] = [];
    const store = openPostgresStore({ url: url.toString(), poolSize: 2, connectTimeoutMs: 500, statementTimeoutMs: 2_000, onError: (err) => errors.push(err), ...extra });
    await migrate(store);
    const sync = new ControlSync(store, { ...syncOptions, ...(onLoaded ? { onLoaded } : {}) });
    opened.push({ close: async () => (await sync.close(), await store.close()) });
    await sync.start();
    return { store, sync, proxy, errors };
  }

  it('a change committed after the first snapshot but before LISTEN took effect is loaded once it does', async () => {
    let release: (() => void) | undefined;
    const { sync } = await replica({}, undefined, (proxy) => (release = proxy.holdFrom(LISTEN_TEXT)));
    // The first snapshot is loaded; the LISTEN is on its way, held by the proxy.
    const version = await change(writer);
    expect(sync.snapshot.version).toBeLessThan(version);
    release?.();
    expect(await pollUntil(() => sync.snapshot.version >= version, 5_000)).toBe(true);
  });

  it('a listening connection that dies silently is replaced, and the replica reloads (no resync needed)', async () => {
    const { sync, proxy, errors } = await replica({ listenerCheckMs: 200 });
    // Up and listening: a change arrives by notification.
    const first = await change(writer);
    expect(await pollUntil(() => sync.snapshot.version >= first, 5_000)).toBe(true);
    // The listening connection now drops every byte, both ways, and never closes.
    expect(proxy.freezeWhere(LISTEN_TEXT)).toBe(1);
    const frozeAt = performance.now();
    const version = await change(writer);
    expect(await pollUntil(() => sync.snapshot.version >= version, 5_000)).toBe(true);
    measured.silentListenerRecoveredMs = Math.round(performance.now() - frozeAt);
    expect(errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/listening connection did not answer/));
    // And it listens again: the next change comes by notification too.
    const next = await change(writer);
    expect(await pollUntil(() => sync.snapshot.version >= next, 2_000)).toBe(true);
  });

  it('transactions that fail at BEGIN (no answer) give their connections back: the pool is not drained for good', async () => {
    const proxy = await startTcpProxy(5432);
    opened.push(proxy);
    const url = new URL(database.url);
    url.port = String(proxy.port);
    // statementTimeoutMs 300: node-postgres gives up on a query after 1.3 s.
    const store = openPostgresStore({ url: url.toString(), poolSize: 2, connectTimeoutMs: 500, statementTimeoutMs: 300, onError: () => undefined });
    opened.push(store);
    const release = proxy.holdFrom('begin');
    const stuck = await Promise.allSettled([0, 1].map(() => store.db.transaction(async (tx) => tx.execute(sql`SELECT 1`))));
    release();
    expect(stuck.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    // Both pool connections were used by those; the next transaction needs one of them back.
    const result = await store.db.transaction(async (tx) => tx.execute(sql`SELECT 41 + 1 AS answer`));
    expect((result as unknown as { rows: Array<{ answer: number }> }).rows[0]?.answer).toBe(42);
  });

  it('a storm of 100 changes coalesces into a bounded number of loads', async () => {
    let loads = 0;
    const { sync } = await replica({}, () => loads++);
    // Listening (the store's first null has been loaded).
    const ready = await change(writer);
    expect(await pollUntil(() => sync.snapshot.version >= ready, 5_000)).toBe(true);
    loads = 0;
    const began = performance.now();
    // 100 transactions at once (8 connections); each bumps the one version row, so they commit
    // one after another and their notifications arrive spread over the whole burst.
    const versions = await Promise.all(Array.from({ length: 100 }, () => change(writer)));
    const stormMs = performance.now() - began;
    const last = Math.max(...versions);
    expect(await pollUntil(() => sync.snapshot.version >= last, 5_000)).toBe(true);
    measured.stormMs = Math.round(stormMs);
    measured.stormLoads = loads;
    expect(loads).toBeGreaterThan(0);
    // One load per spacing interval while the storm lasts, plus the last one after it.
    expect(loads).toBeLessThanOrEqual(Math.ceil(stormMs / NOTIFIED_LOAD_SPACING_MS) + 2);
  });
});

describe('embedded store: one process per data directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llm-gateway-lock-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a second open in the same process is refused while the first is open, and allowed after it closes', async () => {
    const data = join(dir, 'same-process');
    const first = await openEmbeddedStore(data);
    try {
      await expect(openEmbeddedStore(data)).rejects.toThrow(/already open in this process/);
    } finally {
      await first.close();
    }
    const again = await openEmbeddedStore(data);
    await again.close();
  }, 60_000);

  it('a second process is refused with a clear error naming the holder', async () => {
    const data = join(dir, 'two-processes');
    const mine = await openEmbeddedStore(data);
    try {
      const module = fileURLToPath(new URL('../dist/control/store/embedded-store.js', import.meta.url));
      const script = `const { openEmbeddedStore } = await import(process.argv[1]);
try { const s = await openEmbeddedStore(process.argv[2]); await s.close(); console.log('OPENED'); } catch (err) { console.log(err.message); process.exitCode = 3; }`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, module, data], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearTimeout(timer);
      expect(code, out).toBe(3);
      expect(out).toContain(`is in use by process ${process.pid}`);
      expect(out).toContain('use state.database.url for replicas');
    } finally {
      await mine.close();
    }
  }, 60_000);
});
