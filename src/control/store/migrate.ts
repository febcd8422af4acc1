import { createHash } from 'node:crypto';
import { migrations as shipped, type Migration } from './migrations.js';

/** What the migrator needs from a driver: one connection, plain SQL, a transaction. */
export interface MigrationSession {
  /** Runs `fn` in one transaction on one connection; `exec` runs statements, `rows` a query. */
  transaction<T>(fn: (tx: { exec(sql: string): Promise<void>; rows<R>(sql: string, params?: unknown[]): Promise<R[]> }) => Promise<T>): Promise<T>;
}

export interface MigrationResult {
  readonly applied: readonly number[];
  readonly current: number;
}

/**
 * Any 64-bit constant works; this one is "llm-gateway migrate" hashed. Every replica takes the
 * same transaction-scoped advisory lock, so three starting at once apply each migration once:
 * the others wait, then find it recorded.
 */
const MIGRATION_LOCK = 7_284_310_582_113_905n;

export function checksum(m: Migration): string {
  return createHash('sha256').update(m.sql).digest('hex');
}

/**
 * Applies every shipped migration not yet recorded, in order, in one transaction under an
 * advisory lock. Refuses to start (throws) when the database holds a migration this build does
 * not know (a newer gateway migrated it: downgrading needs a backup) or one whose text changed.
 */
export async function migrate(session: MigrationSession, migrations: readonly Migration[] = shipped): Promise<MigrationResult> {
  return session.transaction(async (tx) => {
    await tx.rows('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL)');
    const done = await checkRecorded(tx, migrations);
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
      if (done.has(m.id)) continue;
      await tx.exec(m.sql);
      await tx.rows('INSERT INTO schema_migrations (id, name, checksum, applied_at) VALUES ($1, $2, $3, now())', [m.id, m.name, checksum(m)]);
      applied.push(m.id);
    }
    return { applied, current: Math.max(0, ...migrations.map((m) => m.id)) };
  });
}

type SessionTx = Parameters<Parameters<MigrationSession['transaction']>[0]>[0];

/** The migrations recorded in the database, checked against this build's (throws as migrate does). */
async function checkRecorded(tx: SessionTx, migrations: readonly Migration[]): Promise<Set<number>> {
  const recorded = await tx.rows<{ id: number; checksum: string }>('SELECT id, checksum FROM schema_migrations ORDER BY id');
  const known = new Map(migrations.map((m) => [m.id, m]));
  for (const row of recorded) {
    const m = known.get(Number(row.id));
    if (!m) {
      throw new Error(`the database has migration ${row.id}, which this version of llm-gateway does not know: it was migrated by a newer version (restore a backup to downgrade)`);
    }
    if (checksum(m) !== row.checksum) throw new Error(`migration ${m.id} (${m.name}) differs from the one applied to this database; migrations must never be edited once shipped`);
  }
  return new Set(recorded.map((r) => Number(r.id)));
}

/**
 * Which of this build's migrations the database lacks, without changing anything (for tools that
 * only read, such as `llm-gateway audit verify`). Throws as migrate does for an unknown or edited one.
 */
export async function pendingMigrations(session: MigrationSession, migrations: readonly Migration[] = shipped): Promise<number[]> {
  return session.transaction(async (tx) => {
    const [table] = await tx.rows<{ name: string | null }>("SELECT to_regclass('schema_migrations')::text AS name");
    const done = table?.name ? await checkRecorded(tx, migrations) : new Set<number>();
    return migrations.map((m) => m.id).filter((id) => !done.has(id)).sort((a, b) => a - b);
  });
}
