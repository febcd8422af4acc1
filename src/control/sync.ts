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
 * Loads for notifications start at most this often: a storm of changes (a script making 1,000
 * keys) costs each replica a load per interval, not one per change, and a lone change is loaded
 * at once. Far below the 1 s in which a change must reach every replica.
 */
export const NOTIFIED_LOAD_SPACING_MS = 100;

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
  /** The version the queued load must bring the snapshot to; Infinity: it runs whatever the version. */
  #queuedFor = 0;
  /** Notifications not yet acted on: the highest version they announced (Infinity: reload whatever). */
  #notifiedNeed = 0;
  #notifyTimer: NodeJS.Timeout | undefined;
  #lastLoadStartMs = -Infinity;
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
    // A notification's payload is the version its change made (change.ts): a snapshot already
    // there needs no load, so a burst of changes costs a few loads, not one each. Anything else
    // (null after a lost connection, a NOTIFY by hand) reloads. (A database restored to an older
    // version is caught by the resync, which reloads on any difference.)
    this.store.onChange((payload) => this.#notified(payload !== null && /^[0-9]{1,15}$/.test(payload) ? Number(payload) : Infinity));
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
    return this.#request(Infinity);
  }

  /** A change notification: acted on at once, or (right after a load) at the next spacing. */
  #notified(need: number): void {
    this.#notifiedNeed = Math.max(this.#notifiedNeed, need);
    if (this.#notifyTimer || this.#closed) return;
    const act = (): void => {
      this.#notifyTimer = undefined;
      const wanted = this.#notifiedNeed;
      this.#notifiedNeed = 0;
      void this.#request(wanted);
    };
    const waitMs = this.#lastLoadStartMs + NOTIFIED_LOAD_SPACING_MS - this.options.clock.nowMs();
    if (waitMs <= 0) return act();
    this.#notifyTimer = setTimeout(act, waitMs);
    this.#notifyTimer.unref();
  }

  /** Loads unless the snapshot is at version `need` or later (then resolves at once). */
  #request(need: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#loading) {
      this.#queuedFor = Math.max(this.#queuedFor, need);
      this.#queued ??= this.#loading.then(() => {
        const wanted = this.#queuedFor;
        this.#queued = undefined;
        this.#queuedFor = 0;
        return this.#request(wanted);
      });
      return this.#queued;
    }
    if (this.#snapshot.version >= need) return Promise.resolve();
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
    clearTimeout(this.#notifyTimer);
    await this.#queued;
    await this.#loading;
    await this.flushLastUsed();
  }

  async #load(): Promise<void> {
    const started = this.options.clock.nowMs();
    this.#lastLoadStartMs = started;
    try {
      // An admin write reloads before it answers, and its own notification asks again: one small
      // read of the version, not a second full load, when nothing changed since the last load.
      if (this.#snapshot !== emptySnapshot && (await storeVersion(this.store.db)) === this.#snapshot.version) {
        this.#healthy = true;
        return;
      }
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
