import { migrate, type MigrationResult } from './migrate.js';
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
