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
  #loading: Promise<void> | undefined;
  /** The load queued behind the running one. */
  #next: Promise<void> | undefined;
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
    this.store.onChange(() => this.refresh());
    await this.#load();
    this.#timer = setInterval(() => void this.#check(), this.options.resyncMs);
    this.#timer.unref();
    this.#flushTimer = setInterval(() => void this.flushLastUsed(), this.options.lastUsedFlushMs);
    this.#flushTimer.unref();
  }

  /**
   * Reloads, and resolves once a load that started after this call has finished (so the caller
   * sees every change committed before it called: read-your-writes for the admin API). Calls
   * made during a load coalesce into one more load after it. Never rejects.
   */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (!this.#loading) return this.#run();
    return (this.#next ??= this.#loading.then(() => {
      this.#next = undefined;
      return this.#run();
    }));
  }

  #run(): Promise<void> {
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
    // One JSON parameter for the whole batch: both drivers pass it the same way (arrays differ).
    const rows = JSON.stringify([...batch].map(([id, ms]) => ({ id, t: new Date(ms).toISOString() })));
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
    await this.#loading;
    await this.flushLastUsed();
  }

  async #load(): Promise<void> {
    const started = this.options.clock.nowMs();
    try {
      // An admin write reloads before it answers, and its own notification asks again: one small
      // read of the version, not a second full load, when nothing changed since the last load.
      if (this.#snapshot !== emptySnapshot && (await storeVersion(this.store.db)) === this.#snapshot.version) {
        this.#healthy = true;
        return;
      }
      const next = await loadSnapshot(this.store.db);
      this.#healthy = true;
      // Loads run one at a time (refresh coalesces), so the last one read is the newest.
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
