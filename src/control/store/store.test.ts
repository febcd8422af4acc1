import { getTableColumns, getTableName, sql } from 'drizzle-orm';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, sharedPostgresAvailable } from '../../../test/helpers/postgres.js';
import { checksum, migrate } from './migrate.js';
import { migrations } from './migrations.js';
import { openStore } from './open-store.js';
import { schema } from './schema.js';
import { changeChannel, type ControlStore } from './store.js';

const settings = { dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 };
const pgAvailable = await sharedPostgresAvailable();

// The same suite against both drivers: one schema and one set of queries serve both.
describe.each([
  ['embedded (PGlite)', false],
  ['postgres server', true],
] as const)('control store: %s', (_label, server) => {
  let store: ControlStore;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (server && !pgAvailable) return;
    const url = server ? await createTestDatabase('store').then((d) => ((drop = d.drop), d.url)) : undefined;
    ({ store } = await openStore({ ...settings, url }, () => undefined));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  it.skipIf(server && !pgAvailable)('creates every table drizzle knows, with the same columns', async () => {
    for (const table of Object.values(schema)) {
      const name = getTableName(table);
      const rows = await store.db.execute<{ column_name: string }>(sql`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${name}`);
      const columns = (rows as unknown as { rows: Array<{ column_name: string }> }).rows.map((r) => r.column_name).sort();
      expect(columns, name).toEqual(Object.values(getTableColumns(table)).map((c) => c.name).sort());
      expect(getTableConfig(table).name).toBe(name);
    }
  });

  it.skipIf(server && !pgAvailable)('migrating again applies nothing; an edited or unknown migration refuses to start', async () => {
    expect((await migrate(store)).applied).toEqual([]);
    const first = migrations[0]!;
    await expect(migrate(store, [{ ...first, sql: `${first.sql}\n-- edited` }])).rejects.toThrow(/differs from the one applied/);
    await expect(migrate(store, [])).rejects.toThrow(/does not know/);
    expect(checksum(first)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.skipIf(server && !pgAvailable)('announces a change committed in a transaction, and not one rolled back', async () => {
    const seen: Array<string | null> = [];
    store.onChange((p) => seen.push(p));
    // Give the listener time to subscribe: a notification before LISTEN is (correctly) not delivered.
    await waitFor(async () => {
      await store.db.execute(sql`SELECT pg_notify(${changeChannel}, 'probe')`);
      return seen.includes('probe');
    });
    await store.transaction(async (tx) => {
      await tx.rows(`SELECT pg_notify('${changeChannel}', 'rolled-back')`);
      throw new Error('abort');
    }).catch(() => undefined);
    await store.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_notify(${changeChannel}, 'committed')`);
    });
    await waitFor(async () => seen.includes('committed'));
    expect(seen).not.toContain('rolled-back');
  });
});

describe.skipIf(!pgAvailable)('migrations on a PostgreSQL server', () => {
  it('three replicas starting at once apply each migration exactly once', async () => {
    const { url, drop } = await createTestDatabase('migrate_race');
    try {
      const opened = await Promise.all([0, 1, 2].map(() => openStore({ ...settings, url }, () => undefined)));
      expect(opened.map((o) => o.migrations.applied.length).sort()).toEqual([0, 0, migrations.length]);
      const rows = await opened[0]!.store.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM schema_migrations`);
      expect((rows as unknown as { rows: Array<{ n: number }> }).rows[0]?.n).toBe(migrations.length);
      await Promise.all(opened.map((o) => o.store.close()));
    } finally {
      await drop();
    }
  }, 30_000);
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
