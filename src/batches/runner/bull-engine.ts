/**
 * The Redis engine (`state.backend: redis`): BullMQ queues on the gateway's Redis, so every
 * replica works the same batches. A `batch-validate` job per batch (job id = batch id) validates
 * it and adds one `batch-items` job per item (job id `<batch>-<line>`: adding it twice is a
 * no-op). A replica that dies mid-item stops renewing its job's lock (lockDuration = leaseMs), and
 * BullMQ's stalled-job check hands the job to another replica.
 *
 * The database row stays the truth: a job claims its item with the same conditional update as
 * the embedded engine (claims.ts), a job for an item that has ended does nothing, results are
 * written only by recordItemResult, and retries are decided by the row's attempts (a retry moves
 * the job to BullMQ's delayed set, so BullMQ's own attempt count never ends an item). A sweeper
 * re-adds jobs for whatever the database says is waiting without one (a replica died between
 * validating and enqueueing, Redis lost its data). Loaded (with BullMQ) only by gateways with the
 * Redis backend and a control plane (load-engine.ts).
 */
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { ResolvedRedis } from '../../config/load.js';
import { and, asc, eq, gt, inArray, or, sql } from 'drizzle-orm';
import { batches, batchItems } from '../../control/store/schema.js';
import type { ControlDb } from '../../control/store/store.js';
import { openRedisClient } from '../../state/redis-connection.js';
import { ShuttingDownError } from '../../resilience/abort-reasons.js';
import type { BatchEngine } from '../engine.js';
import { endUnstarted } from '../item-results.js';
import { batchesToEnd, claimItem, runnableCount, validatingBatches } from './claims.js';
import type { EngineDeps } from './embedded-engine.js';
import { runClaimed } from './item-step.js';
import { stopController } from './stop-signal.js';

/** Item jobs added per call while enqueueing a batch, and per sweep (the sweep resumes where it stopped). */
const ENQUEUE_PAGE = 1_000;
/** Longest wait for Redis when adding jobs: a submit never hangs on a dead Redis (the sweeper adds them later). */
const ADD_TIMEOUT_MS = 5_000;
/** After the grace, how long aborted items get to put themselves back on the queue. */
const ABORT_SETTLE_MS = 5_000;
/** Longest wait for BullMQ's own closing steps once nothing of ours runs (a dead Redis must not hold the exit). */
const QUIT_MS = 1_000;
/** How often the item worker's concurrency follows live traffic. */
const PACE_MS = 250;
/** Batches validated or ended per sweep. */
const SWEEP_BATCHES = 16;

interface ItemJob {
  readonly batchId: string;
  readonly line: number;
}

export class BullBatchEngine implements BatchEngine {
  readonly #deps: EngineDeps & { readonly redis: ResolvedRedis };
  readonly #stop = stopController();
  readonly #connections: Array<{ disconnect(): void }> = [];
  #validateQueue: Queue | undefined;
  #itemQueue: Queue | undefined;
  #workers: Worker[] = [];
  #sweeper: NodeJS.Timeout | undefined;
  #pacer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  /** Where the item sweep resumes (batch id, line). */
  #cursor: { batchId: string; line: number } | undefined;
  #closed = false;
  /** Items this replica is running now. */
  #active = 0;

  constructor(deps: EngineDeps & { readonly redis: ResolvedRedis }) {
    this.#deps = deps;
  }

  /** BullMQ's key prefix: the gateway's, hash-tagged so a queue's keys stay in one cluster slot. */
  get prefix(): string {
    return `{${this.#deps.redis.keyPrefix}batches}`;
  }

  start(): void {
    if (this.#validateQueue) return;
    const { settings } = this.#deps;
    const producer = this.#connect(false);
    const prefix = this.prefix;
    this.#validateQueue = new Queue('batch-validate', { connection: producer as never, prefix });
    this.#itemQueue = new Queue('batch-items', { connection: producer as never, prefix });
    for (const q of [this.#validateQueue, this.#itemQueue]) q.on('error', (err: Error) => this.#deps.onError?.('batch queue', err));
    const workerOptions = {
      prefix,
      lockDuration: settings.leaseMs,
      stalledInterval: settings.leaseMs,
      // A job is moved to `failed` only after this many stalls in a row (its replica died each time);
      // the sweeper re-adds it then, so this only bounds how fast a poisonous item is retried.
      maxStalledCount: 5,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
      // Idle workers long-poll Redis for this long (seconds) between checks.
      drainDelay: 5,
    };
    const validator = new Worker<{ batchId: string }>('batch-validate', async (job) => this.#validate(job.data.batchId), { ...workerOptions, connection: this.#connect(true) as never, concurrency: 1 });
    const items = new Worker<ItemJob>(
      'batch-items',
      async (job: Job<ItemJob>, token?: string) => {
        const next = await this.#runItem(job.data);
        if (next === undefined) return;
        // Back on the queue (a retry with backoff, a shutdown): BullMQ delays the same job.
        await job.moveToDelayed(next, token);
        throw new DelayedError();
      },
      { ...workerOptions, connection: this.#connect(true) as never, concurrency: this.#deps.concurrencyNow?.() ?? settings.concurrency },
    );
    this.#workers = [validator, items];
    // Fewer items at once while live requests are in flight here (a worker's concurrency may change while it runs).
    const concurrencyNow = this.#deps.concurrencyNow;
    if (concurrencyNow) {
      this.#pacer = setInterval(() => {
        const n = concurrencyNow();
        if (items.concurrency !== n) items.concurrency = n;
      }, PACE_MS);
      this.#pacer.unref();
    }
    for (const w of this.#workers) w.on('error', (err: Error) => this.#deps.onError?.('batch worker', err));
    // Each replica sweeps, at a random offset so they rarely do it at once (it is idempotent).
    const every = settings.leaseMs;
    const first = setTimeout(() => {
      this.#sweep();
      this.#sweeper = setInterval(() => this.#sweep(), every);
    }, Math.round(every * this.#deps.random()));
    this.#sweeper = first;
  }

  async submit(batchId: string): Promise<void> {
    if (this.#closed || !this.#validateQueue) return;
    // The batch row is durable: a submit that cannot reach Redis is picked up by the sweeper.
    await withTimeout(this.#validateQueue.add('validate', { batchId }, { jobId: batchId }), ADD_TIMEOUT_MS).catch((err: unknown) => this.#deps.onError?.('batch submit', err));
  }

  async requeue(batchId: string, line: number): Promise<void> {
    if (this.#closed || !this.#itemQueue) return;
    await withTimeout(this.#itemQueue.add('item', { batchId, line }, { jobId: jobIdOf(batchId, line) }), ADD_TIMEOUT_MS).catch((err: unknown) => this.#deps.onError?.('batch requeue', err));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#sweeper);
    clearInterval(this.#sweeper);
    clearInterval(this.#pacer);
    await this.#sweeping;
    const closing = Promise.all(this.#workers.map((w) => w.close()));
    if (!(await settledWithin(closing, this.#deps.graceMs))) {
      // Running items are stopped and give themselves back; with none running (a worker stuck on
      // a dead Redis), there is nothing to wait for.
      this.#stop.abort(new ShuttingDownError());
      if (this.#active > 0) await settledWithin(closing, ABORT_SETTLE_MS);
      await settledWithin(Promise.all(this.#workers.map((w) => w.close(true))), QUIT_MS);
    }
    await settledWithin(Promise.all([this.#validateQueue?.close(), this.#itemQueue?.close()]), QUIT_MS);
    for (const c of this.#connections) c.disconnect();
  }

  /** A validate job: the batch's items, then a job for each (idempotent: a second run re-adds nothing new). */
  async #validate(batchId: string): Promise<void> {
    const db = this.#db();
    await this.#deps.validate(batchId);
    let after = -1;
    for (;;) {
      const page = await db
        .select({ line: batchItems.line })
        .from(batchItems)
        .innerJoin(batches, eq(batches.id, batchItems.batchId))
        .where(and(eq(batchItems.batchId, batchId), gt(batchItems.line, after), inArray(batchItems.state, ['queued', 'running']), eq(batches.status, 'in_progress')))
        .orderBy(asc(batchItems.line))
        .limit(ENQUEUE_PAGE);
      if (page.length === 0) return;
      await this.#addItems(page.map((r) => ({ batchId, line: r.line })));
      after = page[page.length - 1]!.line;
      if (page.length < ENQUEUE_PAGE) return;
    }
  }

  /** Runs an item job; returns when to run it again (wall ms), or undefined when it is done with. */
  async #runItem(job: ItemJob): Promise<number | undefined> {
    const db = this.#db();
    const { clock, settings, owner } = this.#deps;
    if (!this.#deps.ready()) return clock.wallMs() + 1_000;
    const now = clock.wallMs();
    const claimed = await claimItem(db, job.batchId, job.line, owner, new Date(now), new Date(now + settings.leaseMs));
    if (claimed === 'ended') return undefined;
    // Another live run holds it (a job added twice across a Redis failover): look again once its lease may have lapsed.
    if (claimed === 'held') return now + settings.leaseMs;
    this.#active++;
    const renew = setInterval(() => void renewOne(db, claimed.batchId, claimed.line, owner, new Date(clock.wallMs() + settings.leaseMs)).catch(() => undefined), settings.leaseMs / 3);
    try {
      const step = await runClaimed({ ...this.#deps, db }, claimed, this.#stop.signal);
      if (step.outcome === 'retry') return step.notBeforeMs;
      if (step.outcome === 'aborted') return clock.wallMs();
      return undefined;
    } finally {
      clearInterval(renew);
      this.#active--;
    }
  }

  #sweep(): void {
    if (this.#closed || this.#sweeping) return;
    this.#sweeping = this.#sweepOnce()
      .catch((err: unknown) => this.#deps.onError?.('batch sweep', err))
      .finally(() => (this.#sweeping = undefined));
  }

  /**
   * Batches left validating get their validate job again; items the database says are waiting
   * (queued with their backoff over, or running under a lapsed lease) get their job again, a page
   * per sweep; expired and cancelled batches have their unstarted items ended.
   */
  async #sweepOnce(): Promise<void> {
    const db = this.#deps.db();
    if (!db || !this.#deps.ready()) return;
    const now = new Date(this.#deps.clock.wallMs());
    for (const id of await validatingBatches(db, SWEEP_BATCHES)) await this.submit(id);
    const c = this.#cursor;
    const page = await db
      .select({ batchId: batchItems.batchId, line: batchItems.line })
      .from(batchItems)
      .innerJoin(batches, eq(batches.id, batchItems.batchId))
      .where(
        and(
          eq(batches.status, 'in_progress'),
          or(
            and(eq(batchItems.state, 'queued'), or(sql`${batchItems.notBefore} IS NULL`, sql`${batchItems.notBefore} <= ${now.toISOString()}::timestamptz`)),
            and(eq(batchItems.state, 'running'), sql`${batchItems.leaseUntil} < ${now.toISOString()}::timestamptz`),
          ),
          c ? or(gt(batchItems.batchId, c.batchId), and(eq(batchItems.batchId, c.batchId), gt(batchItems.line, c.line))) : undefined,
        ),
      )
      .orderBy(asc(batchItems.batchId), asc(batchItems.line))
      .limit(ENQUEUE_PAGE);
    this.#cursor = page.length < ENQUEUE_PAGE ? undefined : page[page.length - 1];
    if (page.length > 0) await this.#addItems(page);
    for (const b of await batchesToEnd(db, now, SWEEP_BATCHES)) {
      await endUnstarted(db, b.id, b.as, { now, retentionDays: this.#deps.settings.fileRetentionDays });
    }
    if (this.#deps.metrics?.batchItemsRunnable) this.#deps.metrics.batchItemsRunnable(await runnableCount(db, now));
  }

  async #addItems(items: readonly ItemJob[]): Promise<void> {
    const queue = this.#itemQueue;
    if (!queue) return;
    await withTimeout(
      queue.addBulk(items.map((i) => ({ name: 'item', data: { batchId: i.batchId, line: i.line }, opts: { jobId: jobIdOf(i.batchId, i.line) } }))),
      ADD_TIMEOUT_MS,
    );
  }

  #db(): ControlDb {
    const db = this.#deps.db();
    if (!db) throw new Error('the control plane database is not open');
    return db;
  }

  /**
   * A connection of BullMQ's own. Workers block on Redis and must wait out a reconnect
   * (`maxRetriesPerRequest: null`, as BullMQ requires); the producer fails fast instead, so a
   * submit never waits on a dead Redis.
   */
  #connect(blocking: boolean): unknown {
    const r = this.#deps.redis;
    const options = {
      maxRetriesPerRequest: blocking ? null : 1,
      connectTimeout: r.connectTimeoutMs,
      retryStrategy: (times: number) => Math.min(r.maxReconnectDelayMs, 50 * 2 ** Math.min(times, 10)),
    };
    const client = openRedisClient(r, options, blocking);
    // Connection errors surface through the queues and workers; the client's own are expected while Redis is down.
    client.on('error', () => undefined);
    this.#connections.push(client);
    return client;
  }
}

/** BullMQ forbids ':' in custom job ids. */
export function jobIdOf(batchId: string, line: number): string {
  return `${batchId}-${line}`;
}

async function renewOne(db: ControlDb, batchId: string, line: number, owner: string, leaseUntil: Date): Promise<void> {
  await db
    .update(batchItems)
    .set({ leaseUntil })
    .where(and(eq(batchItems.batchId, batchId), eq(batchItems.line, line), eq(batchItems.state, 'running'), eq(batchItems.claimedBy, owner)));
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise.then(() => true, () => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
