/**
 * Files past their `expires_at` (batches.fileRetentionDays, or an upload's `expires_after`) are
 * deleted hourly, in bounded statements, by every replica (a delete is idempotent). Reads hide
 * an expired file at once; this gives its room back. A batch whose output or error file expired
 * keeps its items (its counts, and the dead letters an admin may still replay).
 */
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { files } from '../control/store/schema.js';
import type { ControlDb } from '../control/store/store.js';
import { HourlyJob } from '../lifecycle/hourly-job.js';

/** Files deleted per statement, and statements per run at most (a backlog is finished by the next runs). */
const DELETE_BATCH = 100;
const MAX_STATEMENTS = 100;

/** Deletes expired files, at most DELETE_BATCH × MAX_STATEMENTS per call; returns how many. */
export async function deleteExpiredFiles(db: ControlDb, now: Date): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_STATEMENTS; i++) {
    const result = await db.execute<{ n: number }>(
      sql`WITH gone AS (DELETE FROM ${files} WHERE ${files.id} IN (SELECT ${files.id} FROM ${files} WHERE ${files.expiresAt} < ${now.toISOString()}::timestamptz LIMIT ${DELETE_BATCH}) RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    );
    const n = Number((result as unknown as { rows: Array<{ n: number }> }).rows[0]?.n ?? 0);
    total += n;
    if (n < DELETE_BATCH) break;
  }
  return total;
}

/** Runs `deleteExpiredFiles` hourly (and once soon after start). Never throws. */
export class FileCleanup extends HourlyJob {
  constructor(deps: { readonly db: () => ControlDb | undefined; readonly clock: Clock; readonly logger: Logger }) {
    super(
      async () => {
        const db = deps.db();
        if (!db) return;
        const n = await deleteExpiredFiles(db, new Date(deps.clock.wallMs()));
        if (n > 0) deps.logger.info({ files: n }, 'batches: expired files deleted');
      },
      { logger: deps.logger, message: 'batches: deleting expired files failed; tried again within the hour' },
    );
  }
}
