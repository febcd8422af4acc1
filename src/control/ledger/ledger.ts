import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { AttemptEvent, GatewayEvents, RequestFinishedEvent } from '../../observability/events.js';
import { redact } from '../control-plane.js';
import { isStoreUnavailable, isTransientConflict } from '../store/errors.js';
import type { ControlStore } from '../store/store.js';
import { dayOf, DetailCollector, redactPayload, rowOf, type LedgerRow } from './row.js';
import { Spool } from './spool.js';
import { deleteExpiredPayloads, dropExpiredPartitions, ensurePartitions, insertRows, isMissingPartition } from './write.js';

export interface LedgerSettings {
  /** How often buffered rows are written (a crash loses at most this much). */
  readonly flushMs: number;
  /** Rows per INSERT; a buffer this full is written at once. */
  readonly batchRows: number;
  /** Rows held in memory; beyond it (the database is down or slow) they go to the spool. */
  readonly maxBufferRows: number;
  readonly spoolDir: string;
  readonly maxSpoolBytes: number;
  /** Days of request log kept; older days' partitions are dropped. */
  readonly retentionDays: number;
  /** The spool of a throw-away (`:memory:`) database: removed at close, as the database is. */
  readonly temporarySpool?: boolean;
}

export interface LedgerDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** The control plane's store, once open (undefined while the database has not been reached). */
  readonly store: () => ControlStore | undefined;
  /** Bound after construction: the ledger is one of the event sinks that make `events`. */
  readonly events: () => Pick<GatewayEvents, 'requestLogRows' | 'requestLogBacklog'> | undefined;
}

/** Requests in flight whose attempt events are kept for their row; beyond it a row's detail is empty. */
export const MAX_TRACKED_REQUESTS = 10_000;
/** Partitions are made this many days ahead, so a batch at midnight never waits on one. */
const DAYS_AHEAD = 2;
const MAINTENANCE_MS = 3_600_000;
const DAY_MS = 86_400_000;
/**
 * Characters of stored prompts and completions held in memory at most (buffer and overflow
 * together, ~64 MB). Rows are bounded by count, but one payload row can carry half a megabyte:
 * during an outage a team that stores payloads could otherwise fill gigabytes. Past it, a row is
 * kept without its payload (logged): the row, its counts and its cost are never given up for it.
 */
export const MAX_PAYLOAD_CHARS_IN_MEMORY = 32 * 1024 * 1024;

/**
 * The request log's writer: one row per API request (refused ones too), from the events the flow
 * emits, written in batches off the request path. Rows wait in a bounded buffer; while the
 * database cannot take them, the ones beyond the buffer go to a local spool file (bounded), and
 * everything is written back when it returns, exactly once (the insert skips a row already there).
 * A crash loses at most the buffer: `flushMs` of rows.
 */
export class RequestLedger implements Partial<GatewayEvents> {
  readonly #spool: Spool;
  #details = new Map<string, DetailCollector>();
  /** Rows to write, oldest first (at most maxBufferRows). */
  #buffer: LedgerRow[] = [];
  /** Rows beyond the buffer, on their way to the spool (at most maxBufferRows). */
  #overflow: LedgerRow[] = [];
  #flushing: Promise<void> | undefined;
  #spooling: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #maintenanceTimer: NodeJS.Timeout | undefined;
  /** Days whose partition this process has made or seen. */
  #days = new Set<string>();
  /** The spool holds rows (since the first spooled, until it has all been written back). */
  #spoolInUse = false;
  /** The last write failed for want of the database (logged once per outage, not per flush). */
  #down = false;
  #started = false;
  #closed = false;
  /** Payload characters of the rows in the buffer and the overflow. */
  #payloadChars = 0;
  /** A payload was left out for want of room (logged once until there is room again). */
  #payloadsShed = false;

  constructor(
    private readonly settings: LedgerSettings,
    private readonly deps: LedgerDeps,
  ) {
    this.#spool = new Spool(settings.spoolDir, settings.maxSpoolBytes, () => deps.clock.wallMs());
  }

  /** Opens the spool (what a previous process left is written back at the first flush) and starts the timers. */
  async start(): Promise<void> {
    await this.#spool.open();
    if (this.#spool.bytes > 0) {
      this.#spoolInUse = true;
      this.deps.logger.info({ spoolDir: this.settings.spoolDir, bytes: this.#spool.bytes }, 'request log: a spool from an earlier run is written back once the database answers');
    }
    this.#started = true;
    this.#timer = setInterval(() => void this.flush(), this.settings.flushMs);
    this.#timer.unref();
    this.#maintenanceTimer = setInterval(() => void this.maintain(), MAINTENANCE_MS);
    this.#maintenanceTimer.unref();
    this.#report();
  }

  attemptFinished(e: AttemptEvent): void {
    this.#collector(e.requestId)?.attempt(e);
  }

  retry(e: Parameters<GatewayEvents['retry']>[0]): void {
    this.#collector(e.requestId)?.retry(e);
  }

  fallback(e: Parameters<GatewayEvents['fallback']>[0]): void {
    this.#collector(e.requestId)?.fallback(e);
  }

  requestFinished(e: RequestFinishedEvent): void {
    const collected = this.#details.get(e.requestId);
    this.#details.delete(e.requestId);
    // Health checks, metrics scrapes, admin calls and 404s are no API operation: no row.
    if (e.operation === undefined) return;
    const row = this.#withinPayloadBudget(rowOf(e, this.deps.clock.wallMs(), collected?.toDetail() ?? {}));
    if (this.#buffer.length < this.settings.maxBufferRows) {
      this.#buffer.push(row);
      if (this.#buffer.length >= this.settings.batchRows) void this.flush();
    } else if (this.#overflow.length < this.settings.maxBufferRows) {
      this.#overflow.push(row);
      void this.#spoolOverflow();
    } else {
      // The disk cannot keep up either: the one place rows are lost while the process lives.
      this.deps.events()?.requestLogRows({ result: 'dropped', rows: 1 });
    }
  }

  /**
   * Writes what is buffered (and, once the database answers, the spool), in batches. One flush
   * at a time: a call meanwhile shares the running one.
   */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushOnce().finally(() => {
      this.#flushing = undefined;
      this.#report();
    });
    return this.#flushing;
  }

  /** Makes the coming days' partitions and drops the expired ones. Never throws. */
  async maintain(): Promise<void> {
    const store = this.deps.store();
    if (!store) return;
    try {
      const now = this.deps.clock.wallMs();
      const ahead = Array.from({ length: DAYS_AHEAD + 1 }, (_, i) => new Date(now + i * DAY_MS).toISOString().slice(0, 10));
      await ensurePartitions(store, ahead);
      for (const d of ahead) this.#days.add(d);
      const dropped = await dropExpiredPartitions(store, this.settings.retentionDays, now);
      for (const d of dropped) this.#days.delete(d);
      if (dropped.length > 0) this.deps.logger.info({ days: dropped, retentionDays: this.settings.retentionDays }, 'request log: expired days dropped');
      const payloads = await deleteExpiredPayloads(store, now);
      if (payloads > 0) this.deps.logger.info({ payloads }, 'request log: expired payloads deleted');
    } catch (err) {
      this.deps.logger.warn({ err: redact(err) }, 'request log: partition maintenance failed; retried within the hour');
    }
  }

  /**
   * Drain: stops the timers, writes what is buffered (one try), and spools whatever the database
   * did not take, so the next start writes it. Rows of requests still running are not here:
   * call this after the listener has drained.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearInterval(this.#maintenanceTimer);
    if (!this.#started) return;
    await this.flush();
    await this.#spooling;
    if (this.#buffer.length > 0) {
      this.#overflow.unshift(...this.#buffer.splice(0));
      await this.#spoolOverflow();
    }
    await this.#spooling;
    if (this.settings.temporarySpool) await rm(this.settings.spoolDir, { recursive: true, force: true });
  }

  /** The row, or (when held payloads are at their bound) the row without its payload. */
  #withinPayloadBudget(row: LedgerRow): LedgerRow {
    const size = payloadChars(row);
    if (size === 0) return row;
    if (this.#payloadChars + size <= MAX_PAYLOAD_CHARS_IN_MEMORY) {
      this.#payloadChars += size;
      this.#payloadsShed = false;
      return row;
    }
    if (!this.#payloadsShed) this.deps.logger.warn({ heldChars: this.#payloadChars, limitChars: MAX_PAYLOAD_CHARS_IN_MEMORY }, 'request log: stored prompts and completions waiting in memory are at their bound; new rows are kept without theirs until they are written');
    this.#payloadsShed = true;
    const { payload: _dropped, ...rest } = row;
    return rest;
  }

  /** Rows leaving memory (written or spooled) give their payloads' room back. */
  #released(rows: readonly LedgerRow[]): void {
    for (const r of rows) this.#payloadChars -= payloadChars(r);
  }

  /** Payload characters held in memory now (for tests). */
  get heldPayloadChars(): number {
    return this.#payloadChars;
  }

  /** Rows held in memory now (buffer and overflow). */
  get buffered(): number {
    return this.#buffer.length + this.#overflow.length;
  }

  #collector(requestId: string): DetailCollector | undefined {
    let c = this.#details.get(requestId);
    if (!c && this.#details.size < MAX_TRACKED_REQUESTS) {
      c = new DetailCollector();
      this.#details.set(requestId, c);
    }
    return c;
  }

  async #flushOnce(): Promise<void> {
    if (!this.#started) return;
    const store = this.deps.store();
    if (!store) return this.#onDown(new Error('the control-plane database has not been reached yet'));
    try {
      while (this.#buffer.length > 0) {
        const batch = this.#buffer.slice(0, this.settings.batchRows);
        await this.#write(store, batch);
        // Only the flush removes from the buffer's front (requestFinished appends), so these are the rows written.
        this.#released(this.#buffer.splice(0, batch.length));
        if (this.#down) {
          this.#down = false;
          this.deps.logger.info('request log: the database takes rows again');
        }
      }
      if (this.#spoolInUse && !this.#closed) await this.#writeBackSpool(store);
    } catch (err) {
      this.#onDown(err);
    }
  }

  /** A batch written (its days' partitions made first); a row the database refuses as bad data is dropped, alone. */
  async #write(store: ControlStore, unredacted: readonly LedgerRow[]): Promise<void> {
    const rows = unredacted.map(redactPayload);
    const days = new Set(rows.map(dayOf));
    const missing = [...days].filter((d) => !this.#days.has(d));
    if (missing.length > 0) {
      await ensurePartitions(store, missing);
      for (const d of missing) this.#days.add(d);
    }
    let written: number;
    try {
      written = await insertRows(store, rows);
    } catch (err) {
      if (isMissingPartition(err)) {
        // Dropped meanwhile (retention on another replica, by hand): made again, once.
        await ensurePartitions(store, days);
        written = await insertRows(store, rows);
      } else if (isStoreUnavailable(err) || isTransientConflict(err)) {
        // The batch stays where it is (buffer or spool file) and is tried again at the next flush.
        throw err;
      } else if (rows.length === 1) {
        return this.#poisoned(rows[0] as LedgerRow, err);
      } else {
        // Bad data in the batch (it should not happen: every value is checked): find it row by row.
        for (const row of rows) await this.#write(store, [row]);
        return;
      }
    }
    this.deps.events()?.requestLogRows({ result: 'written', rows: written });
  }

  #poisoned(row: LedgerRow, err: unknown): void {
    this.deps.logger.error({ err: redact(err), requestId: row.id }, 'request log: the database refused a row; it is dropped');
    this.deps.events()?.requestLogRows({ result: 'dropped', rows: 1 });
  }

  /** Writes back every closed spool file, oldest first, removing each once written. */
  async #writeBackSpool(store: ControlStore): Promise<void> {
    await this.#spooling;
    this.#spool.rotate();
    const files = await this.#spool.closedFiles();
    for (const file of files) {
      const { rows, bad } = await this.#spool.read(file);
      if (bad > 0) {
        this.deps.logger.warn({ file, lines: bad }, 'request log: spool lines that are no row (cut short by a crash) are dropped');
        this.deps.events()?.requestLogRows({ result: 'dropped', rows: bad });
      }
      for (let i = 0; i < rows.length; i += this.settings.batchRows) await this.#write(store, rows.slice(i, i + this.settings.batchRows));
      await this.#spool.remove(file);
    }
    // Rows spooled while this ran are in a newer file: the next flush writes them.
    if (!this.#spool.appending && this.#overflow.length === 0 && (await this.#spool.closedFiles()).length === 0) {
      this.#spoolInUse = false;
      this.deps.logger.info('request log: the spool is written back; spooling stopped');
    }
  }

  #onDown(err: unknown): void {
    if (!this.#down) this.deps.logger.warn({ err: redact(err), buffered: this.buffered }, 'request log: the database cannot take rows; buffering, then spooling');
    this.#down = true;
    // Keep only maxBufferRows in memory; the rest goes to the spool now.
    const excess = this.#buffer.length - this.settings.maxBufferRows;
    if (excess > 0) this.#overflow.push(...this.#buffer.splice(this.settings.maxBufferRows));
    if (this.#overflow.length > 0) void this.#spoolOverflow();
  }

  /** Appends the overflow to the spool file (one writer at a time); rows that do not fit are dropped. */
  #spoolOverflow(): Promise<void> {
    this.#spooling ??= (async () => {
      try {
        while (this.#overflow.length > 0) {
          // Redacted before they touch the disk.
          const leaving = this.#overflow.splice(0, this.settings.batchRows);
          this.#released(leaving);
          const rows = leaving.map(redactPayload);
          if (!this.#spoolInUse) {
            this.#spoolInUse = true;
            this.deps.logger.warn({ spoolDir: this.settings.spoolDir }, 'request log: spooling rows to disk until the database answers');
          }
          let taken = 0;
          try {
            taken = await this.#spool.append(rows);
          } catch (err) {
            this.deps.logger.error({ err, spoolDir: this.settings.spoolDir }, 'request log: the spool cannot be written; rows dropped');
          }
          if (taken > 0) this.deps.events()?.requestLogRows({ result: 'spooled', rows: taken });
          if (taken < rows.length) {
            this.deps.logger.error({ rows: rows.length - taken, maxSpoolBytes: this.settings.maxSpoolBytes }, 'request log: the spool is full; rows dropped');
            this.deps.events()?.requestLogRows({ result: 'dropped', rows: rows.length - taken });
          }
        }
      } finally {
        this.#spooling = undefined;
        this.#report();
      }
    })();
    return this.#spooling;
  }

  #report(): void {
    this.deps.events()?.requestLogBacklog({ bufferedRows: this.buffered, spoolBytes: this.#spool.bytes });
  }
}

function payloadChars(row: LedgerRow): number {
  return row.payload ? row.payload.request.length + (row.payload.response?.length ?? 0) : 0;
}
