import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { MigrationSession } from './migrate.js';
import type { schema } from './schema.js';

/** The typed query interface: the same for the embedded and the server driver. */
export type ControlDb = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The channel every change is announced on (NOTIFY, in the transaction that made it). */
export const changeChannel = 'llm_gateway_control';

/**
 * The control plane's PostgreSQL: embedded (PGlite, one process) or a server shared by replicas.
 * One schema, one set of queries (drizzle), two drivers.
 */
export interface ControlStore extends MigrationSession {
  readonly kind: 'embedded' | 'postgres';
  readonly db: ControlDb;
  /**
   * Calls `handler` with each change notification's payload, and with `null` when notifications
   * may have been missed (the listening connection was lost and is back): reload everything then.
   */
  onChange(handler: (payload: string | null) => void): void;
  /** Closes every connection (and, embedded, the database). Idempotent. */
  close(): Promise<void>;
}
