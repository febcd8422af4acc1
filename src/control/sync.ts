import { sql } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import { loadSnapshot, storeVersion } from './load-snapshot.js';
import { emptySnapshot, type ControlSnapshot } from './snapshot.js';
import { apiKeys } from './store/schema.js';
import type { ControlStore } from './store/store.js';

export interface SyncOptions {
  /** Full resync period: the safety net under change notifications. */
  readonly resyncMs: number;
  /** How often the keys' `lastUsedAt` is written (one batched UPDATE); lost on a crash: at most this much. */
  readonly lastUsedFlushMs: number;
  readonly clock: Clock;
  readonly onLoaded?: (snapshot: ControlSnapshot, ms: number) => void;
  readonly onError?: (err: Error, during: 'load' | 'flush') => void;
}

/**
 * Keeps this replica's snapshot of the control state current: loads it at start, reloads on
 * every change notification (so a change reaches every replica in well under a second), and
 * checks the version every `resyncMs` in case a notification was lost. When the store cannot be
 * reached the last snapshot stays in force: keys keep working and revocations made before the
 * outage stay enforced.
 */
export class ControlSync {
  #snapshot: ControlSnapshot = emptySnapshot;
  /** The load running now (never rejects): loads run one at a time. */
  #loading: Promise<void> | undefined;
  /** One more load, to start when the running one ends; shared by every refresh made meanwhile. */
  #queued: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Key id → wall ms of the last request, since the last flush. */
  #used = new Map<string, number>();
  #healthy = false;

  constructor(
    readonly store: ControlStore,
    private readonly options: SyncOptions,
  ) {}

  get snapshot(): ControlSnapshot {
    return this.#snapshot;
  }

  /** Whether the last load or version check reached the store. */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** Loads the first snapshot (rejects if the store cannot be read) and starts following changes. */
  async start(): Promise<void> {
    this.store.onChange(() => void this.refresh());
    // The first load is a load like any other (a notification meanwhile waits for it), but its
    // failure is the caller's.
    const first = this.#load();
    this.#loading = first.then(noop, noop).finally(() => (this.#loading = undefined));
    await first;
    this.#timer = setInterval(() => void this.#check(), this.options.resyncMs);
    this.#timer.unref();
    this.#flushTimer = setInterval(() => void this.flushLastUsed(), this.options.lastUsedFlushMs);
    this.#flushTimer.unref();
  }

  /**
   * Reloads; resolves once a load that started after this call has ended, so what was committed
   * before the call is in the snapshot (unless the store could not be read). Calls during a load
   * coalesce into one more load after it: the running one may have read the state before
   * whatever the caller is about (the admin write that just committed).
   */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#loading) {
      this.#queued ??= this.#loading.then(() => {
        this.#queued = undefined;
        return this.refresh();
      });
      return this.#queued;
    }
    this.#loading = this.#load()
      .catch((err: unknown) => this.options.onError?.(err as Error, 'load'))
      .finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  /** Notes a request by a key; written in the next flush, never on the request path. */
  touch(keyId: string): void {
    this.#used.set(keyId, this.options.clock.wallMs());
  }

  async flushLastUsed(): Promise<void> {
    if (this.#used.size === 0) return;
    const batch = this.#used;
    this.#used = new Map();
    // One JSON parameter: drizzle expands a JS array into a row of parameters, not an array.
    const rows = JSON.stringify([...batch].map(([id, t]) => ({ id, t: new Date(t).toISOString() })));
    try {
      // One statement for the whole batch; an older time never overwrites a newer one.
      await this.store.db
        .update(apiKeys)
        .set({ lastUsedAt: sql`v.t` })
        .from(sql`jsonb_to_recordset(${rows}::jsonb) AS v(id text, t timestamptz)`)
        .where(sql`${apiKeys.id} = v.id AND (${apiKeys.lastUsedAt} IS NULL OR ${apiKeys.lastUsedAt} < v.t)`);
    } catch (err) {
      // Put them back (newer entries win) so the next flush tries again; bounded by the number of keys.
      for (const [id, t] of batch) if (!this.#used.has(id)) this.#used.set(id, t);
      this.options.onError?.(err as Error, 'flush');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearInterval(this.#flushTimer);
    await this.#queued;
    await this.#loading;
    await this.flushLastUsed();
  }

  async #load(): Promise<void> {
    const started = this.options.clock.nowMs();
    try {
      const next = await loadSnapshot(this.store.db);
      this.#healthy = true;
      // Loads run one at a time (start and refresh), so the last one read is the newest.
      this.#snapshot = next;
      this.options.onLoaded?.(this.#snapshot, this.options.clock.nowMs() - started);
    } catch (err) {
      this.#healthy = false;
      throw err;
    }
  }

  async #check(): Promise<void> {
    try {
      const version = await storeVersion(this.store.db);
      this.#healthy = true;
      if (version !== this.#snapshot.version) await this.refresh();
    } catch (err) {
      this.#healthy = false;
      this.options.onError?.(err as Error, 'load');
    }
  }
}

function noop(): void {}
