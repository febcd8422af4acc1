import { sql } from 'drizzle-orm';
import { appendAudit, type AuditEvent } from './audit.js';
import { controlState } from './store/schema.js';
import { changeChannel, type ControlDb } from './store/store.js';

export type ControlTx = Parameters<Parameters<ControlDb['transaction']>[0]>[0];

/**
 * Runs one admin change: its writes, its audit entries, the version bump and the NOTIFY that
 * tells every replica, all in one transaction: the change is recorded and announced exactly
 * when it commits, and a failure leaves nothing half-written.
 */
export async function applyChange<T>(db: ControlDb, at: Date, fn: (tx: ControlTx) => Promise<{ result: T; audit: readonly AuditEvent[] }>): Promise<T> {
  return db.transaction(async (tx) => {
    const { result, audit } = await fn(tx);
    await appendAudit(tx, audit, at);
    const [row] = await tx
      .update(controlState)
      .set({ version: sql`${controlState.version} + 1` })
      .returning({ version: controlState.version });
    await tx.execute(sql`SELECT pg_notify(${changeChannel}, ${String(row?.version ?? 0)})`);
    return result;
  });
}
