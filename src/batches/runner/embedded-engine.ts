/**
 * The embedded engine (`state.backend: memory`): runs batch items in this process, from the job
 * records in the control plane's database. No queue besides the table: items are claimed with a
 * conditional update (claims.ts), so the same loop is also correct for several replicas on one
 * PostgreSQL. An idle gateway costs one small query per poll interval; a submit, a replay or a
 * freed slot wakes the loop at once.
 */
import type { ControlDb } from '../../control/store/store.js';
import type { BatchEngine } from '../engine.js';
import { batchesToEnd, claimRunnable, reclaimLapsed, renewLeases, runnableCount, validatingBatches, type ClaimedItem } from './claims.js';
import { runClaimed, type StepDeps } from './item-step.js';
import { endUnstarted } from '../item-results.js';
import { ShuttingDownError } from '../../resilience/abort-reasons.js';
import { stopController } from './stop-signal.js';

export interface EngineDeps extends Omit<StepDeps, 'db'> {
  /** The control plane's database; undefined while it is not open. */
  readonly db: () => ControlDb | undefined;
  /** False until the control plane has its first snapshot: before it every stored key looks revoked. */
  readonly ready: () => boolean;
  /** Validates a batch created with status `validating` into its items (idempotent; validate.ts). */
  readonly validate: (batchId: string) => Promise<void>;
  /** How long close() waits for running items before aborting them (the drain's grace). */
  readonly graceMs: number;
  /** Longest sleep of an idle loop (default 1 s). */
  readonly pollMs?: number;
  /** Items to run at once now (default `settings.concurrency`): fewer while live requests are in flight (load-engine.ts). */
  readonly concurrencyNow?: () => number;
  /** A round, a validation or an item failed (the database down): logged; the next round tries again. */
  readonly onError?: (during: string, err: unknown) => void;
}

/** After the grace, how long aborted items get to put themselves back on the queue. */
const ABORT_SETTLE_MS = 5_000;
/** Batches validated or ended per maintenance round (more wait for the next). */
const MAINTENANCE_BATCHES = 16;

export class EmbeddedBatchEngine implements BatchEngine {
  readonly #deps: EngineDeps;
  readonly #running = new Map<string, Promise<void>>();
  /** Validations started by submit (awaited, bounded, by close). */
  readonly #validating = new Set<Promise<void>>();
  /** Batches being validated now (by submit or a round): a big file is validated once at a time, not again by every round. */
  readonly #validatingIds = new Set<string>();
  readonly #stop = stopController();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;
  #lastMaintenanceMs = -Infinity;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
  }

  /** Items this replica is running now. */
  get running(): number {
    return this.#running.size;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Validates the batch in the background (a 50,000-line file takes a while; the client has its
   * `validating` batch at once, as from OpenAI), then wakes the loop. The batch row is already
   * durable: if this process dies first, the next start validates it.
   */
  async submit(batchId: string): Promise<void> {
    if (this.#closed || this.#validatingIds.has(batchId)) return;
    this.#validatingIds.add(batchId);
    const validating = this.#deps
      .validate(batchId)
      .catch((err: unknown) => this.#deps.onError?.('batch validation', err))
      .finally(() => {
        this.#validatingIds.delete(batchId);
        this.#validating.delete(validating);
        this.#poke();
      });
    this.#validating.add(validating);
  }

  async requeue(): Promise<void> {
    this.#poke();
  }

  async close(): Promise<void> {
    if (this.#closed) return this.#loop;
    this.#closed = true;
    this.#poke();
    // A round may be in a long validation (a 50,000-line file, a database not answering): the
    // drain does not wait past its grace for it; the round claims nothing once closed.
    await settled(this.#loop ? [this.#loop] : [], this.#deps.graceMs);
    // A validation cut short is finished by the next start (validation is idempotent).
    await settled([...this.#validating], this.#deps.graceMs);
    // Running items get the drain's grace to finish; then they are stopped and give themselves back.
    if (!(await settled([...this.#running.values()], this.#deps.graceMs))) {
      this.#stop.abort(new ShuttingDownError());
      await settled([...this.#running.values()], ABORT_SETTLE_MS);
    }
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #run(): Promise<void> {
    const pollMs = this.#deps.pollMs ?? 1_000;
    while (!this.#closed) {
      let full = false;
      try {
        full = await this.#tick();
      } catch (err) {
        this.#deps.onError?.('batch runner', err);
      }
      if (this.#closed) break;
      // Full: a finished item wakes the loop (and leases are renewed in time meanwhile).
      // Otherwise nothing is runnable now: poll again later, or when woken.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, full ? this.#deps.settings.leaseMs / 3 : pollMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One round: maintenance when due, then claims for the free slots. Returns whether every slot is busy. */
  async #tick(): Promise<boolean> {
    const db = this.#deps.db();
    if (!db || !this.#deps.ready()) return false;
    const { clock, settings, owner } = this.#deps;
    if (clock.nowMs() - this.#lastMaintenanceMs >= settings.leaseMs / 3) {
      this.#lastMaintenanceMs = clock.nowMs();
      await this.#maintain(db);
      if (this.#closed) return false;
    }
    const free = (this.#deps.concurrencyNow?.() ?? settings.concurrency) - this.#running.size;
    if (free <= 0) return true;
    const now = clock.wallMs();
    const claimed = await claimRunnable(db, owner, free, new Date(now), new Date(now + settings.leaseMs));
    for (const item of claimed) this.#start(db, item);
    return claimed.length === free;
  }

  /** Leases kept, lapsed ones taken back, batches validated, expired and cancelled ones ended. */
  async #maintain(db: ControlDb): Promise<void> {
    const { clock, settings, owner } = this.#deps;
    const now = clock.wallMs();
    if (this.#running.size > 0) await renewLeases(db, owner, new Date(now + settings.leaseMs));
    await reclaimLapsed(db, new Date(now));
    for (const id of await validatingBatches(db, MAINTENANCE_BATCHES)) {
      if (this.#closed) return;
      if (this.#validatingIds.has(id)) continue;
      this.#validatingIds.add(id);
      try {
        await this.#deps.validate(id).catch((err: unknown) => this.#deps.onError?.('batch validation', err));
      } finally {
        this.#validatingIds.delete(id);
      }
    }
    if (this.#closed) return;
    for (const b of await batchesToEnd(db, new Date(now), MAINTENANCE_BATCHES)) {
      await endUnstarted(db, b.id, b.as, { now: new Date(now), retentionDays: settings.fileRetentionDays });
    }
    if (this.#deps.metrics?.batchItemsRunnable) this.#deps.metrics.batchItemsRunnable(await runnableCount(db, new Date(now)));
  }

  #start(db: ControlDb, item: ClaimedItem): void {
    const key = `${item.batchId}:${item.line}`;
    const run = runClaimed({ ...this.#deps, db }, item, this.#stop.signal)
      // A database that failed mid-settle leaves the item running: its lease lapses and it is reclaimed.
      .then(() => undefined, (err: unknown) => this.#deps.onError?.('batch item', err))
      .finally(() => {
        this.#running.delete(key);
        this.#poke();
      });
    this.#running.set(key, run);
  }
}

/** Whether every promise settled within `ms`. */
async function settled(promises: ReadonlyArray<Promise<unknown>>, ms: number): Promise<boolean> {
  if (promises.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([Promise.allSettled(promises).then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
