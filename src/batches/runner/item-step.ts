/**
 * One run of a claimed item and what follows it, the same for both engines: the result written
 * once (recordItemResult), or the item given back to the queue with a backoff (a failure a later
 * run may fix, while runs are left), or given back as it was (the run was stopped by a shutdown).
 */
import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { BatchesConfig } from '../../config/schema.js';
import { batches } from '../../control/store/schema.js';
import type { ControlDb } from '../../control/store/store.js';
import type { RuntimeLease } from '../../lifecycle/runtime-holder.js';
import { endUnstarted, recordItemResult } from '../item-results.js';
import type { ClaimedItem } from './claims.js';
import { addLostRunCost, noteRun, releaseItem } from './claims.js';
import { newRequestId } from '../../http/request-id.js';
import { notSentRefusal, runItem } from './run-item.js';

/** Longest wait before an item's next run, whatever `retryBackoffMs` and the attempt. */
export const MAX_BACKOFF_MS = 300_000;

/** How a run ended for the item: its result written (`succeeded`/`failed`: dead-lettered), back on the queue, or taken over. */
export type StepOutcome = 'succeeded' | 'failed' | 'retry' | 'aborted' | 'lost';

export interface BatchRunnerMetrics {
  /** An item's run ended (`lost`: its claim lapsed and another run wrote, or will write, the result). */
  batchItemRun(e: { readonly outcome: StepOutcome; readonly durationMs: number }): void;
  /** Items waiting to run now (sampled by the maintenance round, never per scrape). */
  batchItemsRunnable?(n: number): void;
}

export interface StepDeps {
  readonly db: ControlDb;
  /** This replica's runner id (`claimed_by`). */
  readonly owner: string;
  readonly settings: BatchesConfig;
  readonly clock: Clock;
  /** The serving runtime, for one item (a reload mid-run keeps it until the item ends). */
  readonly acquire: () => RuntimeLease;
  readonly random: () => number;
  readonly logger: Logger;
  readonly metrics?: BatchRunnerMetrics | undefined;
  /**
   * Resolves once the request-log rows of requests finished so far are written (or spooled): a
   * run's cost is written to its item only after its row, so a replica killed in between cannot
   * leave an item's cost that the key's spend does not have. Absent when the request log is off.
   */
  readonly durable?: (() => Promise<void>) | undefined;
}

/** Shortest wait of an item its key's own limits refused (such a refusal is not counted as a run). */
const OWN_LIMIT_WAIT_MS = 1_000;

/** Longest wait for the request log before an item is settled anyway (its cost may then be missing from the spend). */
const DURABLE_WAIT_MS = 10_000;

/** Wait before run `attempts + 1`: `retryBackoffMs` doubling per run, capped, the upper half jittered (replicas that failed together spread out). */
export function backoffMs(retryBackoffMs: number, attempts: number, random: () => number): number {
  const full = Math.min(MAX_BACKOFF_MS, retryBackoffMs * 2 ** Math.min(Math.max(attempts - 1, 0), 20));
  return Math.round(full / 2 + (full / 2) * random());
}

/**
 * Runs the item once and settles it. `signal` aborts the run (shutdown): the item goes back to
 * the queue as it was. Returns what became of it, and when it is back on the queue, when it may
 * run next (wall ms).
 */
export async function runClaimed(deps: StepDeps, item: ClaimedItem, signal: AbortSignal): Promise<{ outcome: StepOutcome; notBeforeMs?: number }> {
  const { db, clock, settings } = deps;
  const startMs = clock.nowMs();
  // The run's request id is on the row before it starts: if this replica dies, whoever takes the
  // item back finds what the lost run cost (claims.ts: takeBack).
  const requestId = newRequestId(clock.wallMs());
  await noteRun(db, item, deps.owner, requestId);
  const lease = deps.acquire();
  let step: { outcome: StepOutcome; notBeforeMs?: number };
  try {
    const run = await runItem(lease, item, requestId, signal, () => clock.nowMs());
    await durable(deps);
    if (run.kind === 'aborted') {
      await releaseItem(db, item, deps.owner, { notBefore: null, addCostPico: run.costPico, uncount: true });
      step = { outcome: 'aborted' };
    } else {
      const costPico = run.costPico === null && item.costSoFar === 0n ? null : item.costSoFar + (run.costPico ?? 0n);
      // The gateway refused it for want of capacity, nothing sent (its key's limits, a live request
      // taking its place): it waits for room without spending a run, else a batch beyond its key's
      // limits, or beside heavy live traffic, is dead-lettered. Its window still ends it.
      const ownLimit = run.retryable && notSentRefusal(run.code);
      const final = !run.retryable || (!ownLimit && item.attempts >= settings.maxAttempts);
      if (final) {
        const now = new Date(clock.wallMs());
        const result = { kind: 'response', statusCode: run.statusCode, requestId: run.requestId, body: run.body, costPico } as const;
        const written = await recordItemResult(db, item.batchId, item.line, result, { now, retentionDays: settings.fileRetentionDays });
        step = { outcome: !written ? 'lost' : run.statusCode >= 200 && run.statusCode < 300 ? 'succeeded' : 'failed' };
      } else {
        // Not before the answer's Retry-After either: a run sooner meets the same refusal and
        // burns an attempt (a provider's 429 storm would dead-letter a whole batch in seconds).
        // The batch's window still bounds the wait: the sweep expires what cannot run in time.
        // A capacity refusal spends no run, so its backoff does not grow: at least OWN_LIMIT_WAIT_MS, never a spin.
        const waitMs = Math.max(backoffMs(settings.retryBackoffMs, item.attempts, deps.random), run.retryAfterMs ?? 0, ownLimit ? OWN_LIMIT_WAIT_MS : 0);
        const notBeforeMs = clock.wallMs() + waitMs;
        const released = await releaseItem(db, item, deps.owner, { notBefore: new Date(notBeforeMs), addCostPico: run.costPico, uncount: ownLimit });
        step = released ? { outcome: 'retry', notBeforeMs } : { outcome: 'lost' };
        // A cancel that came while this item ran ended the others; this one ends with them.
        if (released) await endIfCancelled(db, item.batchId, clock, settings);
      }
      // Its claim lapsed and another run settles the item: this run was spent all the same.
      if (step.outcome === 'lost' && run.costPico !== null) await addLostRunCost(db, item, run.costPico);
    }
  } finally {
    lease.release();
  }
  deps.metrics?.batchItemRun({ outcome: step.outcome, durationMs: clock.nowMs() - startMs });
  if (step.outcome === 'lost') deps.logger.warn({ batchId: item.batchId, line: item.line }, 'batch item: its claim lapsed while it ran; another run settles it');
  return step;
}

async function durable(deps: StepDeps): Promise<void> {
  if (!deps.durable) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), DURABLE_WAIT_MS)));
  try {
    const r = await Promise.race([deps.durable().then(() => 'ok' as const, () => 'late' as const), late]);
    if (r === 'late') deps.logger.warn('batch item: the request log did not take its row in time; settling anyway');
  } finally {
    clearTimeout(timer);
  }
}

async function endIfCancelled(db: ControlDb, batchId: string, clock: Clock, settings: BatchesConfig): Promise<void> {
  const [b] = await db.select({ status: batches.status }).from(batches).where(eq(batches.id, batchId));
  if (b?.status === 'cancelling') await endUnstarted(db, batchId, 'cancelled', { now: new Date(clock.wallMs()), retentionDays: settings.fileRetentionDays });
}
