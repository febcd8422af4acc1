/**
 * The runner's queries on `batch_items`, the durable job records both engines share. A run is
 * claimed by a conditional update (state, owner, lease, attempts + 1), so two replicas never
 * start one item together, and a replica that dies gives its items back when their lease lapses.
 * The result itself is written only by recordItemResult (item-results.ts).
 */
import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import { requestIdTime } from '../../http/request-id.js';
import type { ControlDb } from '../../control/store/store.js';
import { batches, batchItems, requestLog } from '../../control/store/schema.js';

/** An item claimed for one run, with what running it needs from its batch. */
export interface ClaimedItem {
  readonly batchId: string;
  readonly line: number;
  /** Runs started, this one included. */
  readonly attempts: number;
  readonly body: unknown;
  /** What earlier runs of it cost (picodollars): a retried item's cost is every run's. */
  readonly costSoFar: bigint;
  readonly keyId: string;
  readonly endpoint: string;
}

interface ClaimRow {
  batch_id: string;
  line: number;
  attempts: number;
  body: unknown;
  cost: string | null;
  key_id: string;
  endpoint: string;
}

const toItem = (r: ClaimRow): ClaimedItem => ({
  batchId: r.batch_id,
  line: Number(r.line),
  attempts: Number(r.attempts),
  // PGlite hands jsonb back parsed; a driver that returns text is parsed here.
  body: typeof r.body === 'string' ? JSON.parse(r.body) : r.body,
  costSoFar: r.cost === null ? 0n : BigInt(r.cost),
  keyId: r.key_id,
  endpoint: r.endpoint,
});

/**
 * Claims up to `limit` runnable items (queued, backoff over, of a batch in progress within its
 * window) for `owner` until `leaseUntil`. SKIP LOCKED: replicas claiming at once take different
 * items and never wait on each other. Ordered by line, then batch: batches running together
 * share the runner instead of the oldest taking it all.
 */
export async function claimRunnable(db: ControlDb, owner: string, limit: number, now: Date, leaseUntil: Date): Promise<ClaimedItem[]> {
  if (limit <= 0) return [];
  const result = await db.execute(sql`
    WITH picked AS (
      SELECT i.batch_id, i.line FROM batch_items i JOIN batches b ON b.id = i.batch_id
      WHERE i.state = 'queued' AND (i.not_before IS NULL OR i.not_before <= ${now.toISOString()}::timestamptz)
        AND b.status = 'in_progress' AND b.expires_at > ${now.toISOString()}::timestamptz
      ORDER BY i.line, i.batch_id LIMIT ${limit} FOR UPDATE OF i SKIP LOCKED
    ), claimed AS (
      UPDATE batch_items u SET state = 'running', attempts = u.attempts + 1, claimed_by = ${owner}, lease_until = ${leaseUntil.toISOString()}::timestamptz, not_before = NULL, request_id = NULL
      FROM picked WHERE u.batch_id = picked.batch_id AND u.line = picked.line
      RETURNING u.batch_id, u.line, u.attempts, u.body, u.cost_pico
    )
    SELECT c.batch_id, c.line, c.attempts, c.body, c.cost_pico::text AS cost, b.key_id, b.endpoint FROM claimed c JOIN batches b ON b.id = c.batch_id`);
  return (result as unknown as { rows: ClaimRow[] }).rows.map(toItem);
}

/**
 * Claims one item by its key (a BullMQ job names it): when it is queued, or running under a
 * lease that lapsed (its replica died; BullMQ redelivered the job: the lost run is taken back
 * first, its cost with it). 'ended' when the item has ended, or its batch is not running or past
 * its completion window (a job delivered after its result: a no-op), 'held' when another live
 * run holds it.
 */
export async function claimItem(db: ControlDb, batchId: string, line: number, owner: string, now: Date, leaseUntil: Date): Promise<ClaimedItem | 'ended' | 'held'> {
  const claim = async (): Promise<ClaimedItem | undefined> => {
    const result = await db.execute(sql`
      WITH claimed AS (
        UPDATE batch_items u SET state = 'running', attempts = u.attempts + 1, claimed_by = ${owner}, lease_until = ${leaseUntil.toISOString()}::timestamptz, not_before = NULL, request_id = NULL
        FROM batches b
        WHERE u.batch_id = ${batchId} AND u.line = ${line} AND b.id = u.batch_id AND b.status = 'in_progress' AND b.expires_at > ${now.toISOString()}::timestamptz AND u.state = 'queued'
        RETURNING u.batch_id, u.line, u.attempts, u.body, u.cost_pico
      )
      SELECT c.batch_id, c.line, c.attempts, c.body, c.cost_pico::text AS cost, b.key_id, b.endpoint FROM claimed c JOIN batches b ON b.id = c.batch_id`);
    const [row] = (result as unknown as { rows: ClaimRow[] }).rows;
    return row ? toItem(row) : undefined;
  };
  const first = await claim();
  if (first) return first;
  const [item] = await db
    .select({ state: batchItems.state, status: batches.status, expiresAt: batches.expiresAt, leaseUntil: batchItems.leaseUntil, requestId: batchItems.requestId })
    .from(batchItems)
    .innerJoin(batches, eq(batches.id, batchItems.batchId))
    .where(and(eq(batchItems.batchId, batchId), eq(batchItems.line, line)));
  // Its batch is over, or past its window (the sweep ends its unstarted items): nothing to run.
  if (item?.status !== 'in_progress' || item.state !== 'running' || item.expiresAt.getTime() <= now.getTime()) return 'ended';
  if (item.leaseUntil !== null && item.leaseUntil.getTime() >= now.getTime()) return 'held';
  await takeBack(db, { batchId, line, requestId: item.requestId }, now);
  return (await claim()) ?? 'held';
}

/** Notes the request id of the run an item is starting, so that if its replica dies, the run's cost can be found (takeBack). */
export async function noteRun(db: ControlDb, item: Pick<ClaimedItem, 'batchId' | 'line'>, owner: string, requestId: string): Promise<void> {
  await db
    .update(batchItems)
    .set({ requestId })
    .where(and(eq(batchItems.batchId, item.batchId), eq(batchItems.line, item.line), eq(batchItems.state, 'running'), eq(batchItems.claimedBy, owner)));
}

/**
 * Puts a running item whose lease lapsed back on the queue. Its lost run still counts as an
 * attempt, and what it cost (its request-log row, if the dead replica wrote it) is added to the
 * item's cost: the spend of the batch's key and the sum of its items' costs stay equal.
 */
async function takeBack(db: ControlDb, item: { batchId: string; line: number; requestId: string | null }, now: Date): Promise<boolean> {
  const startedMs = item.requestId === null ? undefined : requestIdTime(item.requestId);
  let lost = 0n;
  if (item.requestId !== null && startedMs !== undefined) {
    const [row] = await db
      .select({ cost: requestLog.costPico })
      .from(requestLog)
      .where(and(eq(requestLog.startedAt, new Date(startedMs)), eq(requestLog.id, item.requestId)));
    lost = row?.cost === null || row?.cost === undefined ? 0n : BigInt(row.cost);
  }
  const taken = await db
    .update(batchItems)
    .set({ state: 'queued', claimedBy: null, leaseUntil: null, requestId: null, ...(lost !== 0n ? { costPico: sql`coalesce(${batchItems.costPico}, 0) + ${lost}` } : {}) })
    .where(
      and(
        eq(batchItems.batchId, item.batchId),
        eq(batchItems.line, item.line),
        eq(batchItems.state, 'running'),
        lt(batchItems.leaseUntil, now),
        item.requestId === null ? isNull(batchItems.requestId) : eq(batchItems.requestId, item.requestId),
      ),
    )
    .returning({ line: batchItems.line });
  return taken.length > 0;
}

/**
 * Gives a claimed item back to the queue without a result: to run again after `notBefore` (a
 * failure a retry may fix), or at once (its run was stopped by a shutdown: that run does not
 * count, `uncount`). Whatever the run cost is kept on the row. Only while `owner` still holds it.
 */
export async function releaseItem(db: ControlDb, item: Pick<ClaimedItem, 'batchId' | 'line'>, owner: string, release: { notBefore: Date | null; addCostPico: bigint | null; uncount: boolean }): Promise<boolean> {
  const released = await db
    .update(batchItems)
    .set({
      state: 'queued',
      claimedBy: null,
      leaseUntil: null,
      requestId: null,
      notBefore: release.notBefore,
      ...(release.uncount ? { attempts: sql`greatest(${batchItems.attempts} - 1, 0)` } : {}),
      ...(release.addCostPico !== null && release.addCostPico !== 0n ? { costPico: sql`coalesce(${batchItems.costPico}, 0) + ${release.addCostPico}` } : {}),
    })
    .where(and(eq(batchItems.batchId, item.batchId), eq(batchItems.line, item.line), eq(batchItems.state, 'running'), eq(batchItems.claimedBy, owner)))
    .returning({ line: batchItems.line });
  return released.length > 0;
}

/** Extends the leases of the items `owner` is running (one statement, whatever their number). */
export async function renewLeases(db: ControlDb, owner: string, leaseUntil: Date): Promise<number> {
  const renewed = await db
    .update(batchItems)
    .set({ leaseUntil })
    .where(and(eq(batchItems.state, 'running'), eq(batchItems.claimedBy, owner)))
    .returning({ line: batchItems.line });
  return renewed.length;
}

/**
 * Puts back on the queue the running items whose lease lapsed (their replica died or hung), a
 * page at a time; see takeBack. Returns how many.
 */
export async function reclaimLapsed(db: ControlDb, now: Date, limit = 100): Promise<number> {
  const lapsed = await db
    .select({ batchId: batchItems.batchId, line: batchItems.line, requestId: batchItems.requestId })
    .from(batchItems)
    .where(and(eq(batchItems.state, 'running'), lt(batchItems.leaseUntil, now)))
    .limit(limit);
  let taken = 0;
  for (const item of lapsed) if (await takeBack(db, item, now)) taken++;
  return taken;
}

/** Batches still to validate (created; the replica that took them may have died). */
export async function validatingBatches(db: ControlDb, limit: number): Promise<string[]> {
  const rows = await db.select({ id: batches.id }).from(batches).where(eq(batches.status, 'validating')).limit(limit);
  return rows.map((r) => r.id);
}

/**
 * Batches whose unstarted items are to be ended: in progress past their completion window
 * (expired), and cancelling ones that still have queued items (the replica that took the cancel
 * died before ending them, or an item went back to the queue after a failed run).
 */
export async function batchesToEnd(db: ControlDb, now: Date, limit: number): Promise<Array<{ id: string; as: 'expired' | 'cancelled' }>> {
  const result = await db.execute(sql`
    SELECT b.id, CASE WHEN b.status = 'cancelling' THEN 'cancelled' ELSE 'expired' END AS as
    FROM batches b
    WHERE (b.status = 'in_progress' AND b.expires_at <= ${now.toISOString()}::timestamptz AND EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = b.id AND i.state = 'queued'))
       OR (b.status = 'cancelling' AND EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = b.id AND i.state = 'queued'))
    LIMIT ${limit}`);
  return (result as unknown as { rows: Array<{ id: string; as: 'expired' | 'cancelled' }> }).rows;
}

/** Items ready to run now (queued, backoff over, their batch in progress): the queue-depth gauge. */
export async function runnableCount(db: ControlDb, now: Date): Promise<number> {
  const result = await db.execute(sql`
    SELECT count(*)::int AS n FROM batch_items i JOIN batches b ON b.id = i.batch_id
    WHERE i.state = 'queued' AND (i.not_before IS NULL OR i.not_before <= ${now.toISOString()}::timestamptz) AND b.status = 'in_progress'`);
  return Number((result as unknown as { rows: Array<{ n: number }> }).rows[0]?.n ?? 0);
}

/**
 * Adds the cost of a run whose result was not kept (its claim lapsed and another run settled, or
 * holds, the item) to the item, and to its batch when the item has ended (the batch's cost is
 * the sum of its ended items'): the run was spent by the key all the same. An item still running
 * elsewhere keeps it on its row.
 */
export async function addLostRunCost(db: ControlDb, item: Pick<ClaimedItem, 'batchId' | 'line'>, costPico: bigint): Promise<void> {
  if (costPico === 0n) return;
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(batchItems)
      .set({ costPico: sql`coalesce(${batchItems.costPico}, 0) + ${costPico}` })
      .where(and(eq(batchItems.batchId, item.batchId), eq(batchItems.line, item.line)))
      .returning({ state: batchItems.state });
    if (row && (row.state === 'succeeded' || row.state === 'failed')) {
      await tx.update(batches).set({ costPico: sql`${batches.costPico} + ${costPico}` }).where(eq(batches.id, item.batchId));
    }
  });
}
