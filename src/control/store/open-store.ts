import { migrate, pendingMigrations, type MigrationResult } from './migrate.js';
import type { ControlStore } from './store.js';

export interface StoreSettings {
  /** A PostgreSQL server shared by replicas; without it, the embedded database in `dataDir`. */
  readonly url?: string | undefined;
  readonly dataDir: string;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
}

/**
 * Opens the configured store and brings its schema up to date. The drivers are imported here,
 * not at the top of a module, so a gateway without a control plane loads neither.
 */
export async function openStore(settings: StoreSettings, onError: (err: Error, where: string) => void): Promise<{ store: ControlStore; migrations: MigrationResult }> {
  let store: ControlStore;
  if (settings.url !== undefined) {
    const { openPostgresStore } = await import('./postgres-store.js');
    store = openPostgresStore({ url: settings.url, poolSize: settings.poolSize, connectTimeoutMs: settings.connectTimeoutMs, statementTimeoutMs: settings.statementTimeoutMs, onError });
  } else {
    const { openEmbeddedStore } = await import('./embedded-store.js');
    store = await openEmbeddedStore(settings.dataDir);
  }
  try {
    return { store, migrations: await migrate(store) };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** The database has no schema, or an older one than this build's: reading it would need a migration. */
export class NotMigratedError extends Error {}

/**
 * Opens the configured store to read it, changing nothing: no data directory or schema is
 * created, no migration applied, every session read-only. Refuses a database that is not at this
 * build's schema (NotMigratedError; the gateway migrates it when it starts). The embedded store
 * is refused while a gateway holds it (DataDirInUseError, from embedded-store.ts).
 */
export async function openStoreReadOnly(settings: StoreSettings, onError: (err: Error, where: string) => void): Promise<ControlStore> {
  let store: ControlStore;
  if (settings.url !== undefined) {
    const { openPostgresStore } = await import('./postgres-store.js');
    store = openPostgresStore({ url: settings.url, poolSize: 1, connectTimeoutMs: settings.connectTimeoutMs, statementTimeoutMs: settings.statementTimeoutMs, readOnly: true, onError });
  } else {
    const { openEmbeddedStore } = await import('./embedded-store.js');
    store = await openEmbeddedStore(settings.dataDir, { readOnly: true });
  }
  try {
    const pending = await pendingMigrations(store);
    if (pending.length > 0) {
      throw new NotMigratedError(
        pending[0] === 1
          ? 'the database has no llm-gateway schema: no gateway has started on it yet (the gateway creates it at start)'
          : `the database lacks migrations ${pending.join(', ')} of this version: start this version of the gateway once to apply them, or use the version that runs on it`,
      );
    }
    return store;
  } catch (err) {
    await store.close();
    throw err;
  }
}
