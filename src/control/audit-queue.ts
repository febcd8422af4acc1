import type { Clock } from '../clock.js';
import { appendAudit, type AuditEvent } from './audit.js';
import type { ControlDb } from './store/store.js';

const MAX_PENDING = 1_000;
const BATCH = 100;
const FLUSH_MS = 250;
const RETRY_MAX_MS = 30_000;

/**
 * Security events (a refused sign-in, a denied admin call, a use of the bootstrap credential)
 * come from requests that changed nothing, possibly a flood of them: they are recorded off the
 * request path, in batches, from a bounded queue. Beyond MAX_PENDING events are dropped and
 * counted, and the count itself is recorded (`audit.dropped`) once the queue has room again, so
 * a flood can neither fill memory nor hide that it happened.
 */
export class SecurityAuditQueue {
  #pending: AuditEvent[] = [];
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #retryMs = FLUSH_MS;
  #closed = false;

  constructor(
    private readonly db: () => ControlDb | undefined,
    private readonly clock: Clock,
    private readonly on: { readonly onError: (err: Error) => void; readonly onDropped: () => void },
  ) {}

  record(event: AuditEvent): void {
    if (this.#pending.length >= MAX_PENDING) {
      this.#dropped++;
      this.on.onDropped();
      return;
    }
    // Stamped now: the batch may be written seconds later (or after an outage).
    this.#pending.push(event.at ? event : { ...event, at: new Date(this.clock.wallMs()) });
    this.#schedule(FLUSH_MS);
  }

  /** Events waiting to be written (never more than MAX_PENDING). */
  get pending(): number {
    return this.#pending.length;
  }

  /** Writes what is queued (also at shutdown). Events stay queued while the store is down. */
  flush(): Promise<void> {
    return (this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  #schedule(ms: number): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, ms);
    this.#timer.unref?.();
  }

  async #flush(): Promise<void> {
    const db = this.db();
    while (db && this.#pending.length > 0) {
      const batch = this.#pending.slice(0, BATCH);
      const dropped = this.#dropped;
      const events = dropped > 0 ? [...batch, { actor: { id: 'gateway', type: 'system' as const }, action: 'audit.dropped', after: { events: dropped } }] : batch;
      try {
        await db.transaction((tx) => appendAudit(tx, events, new Date(this.clock.wallMs())));
      } catch (err) {
        this.on.onError(err as Error);
        break;
      }
      this.#pending.splice(0, batch.length);
      this.#dropped -= dropped;
      this.#retryMs = FLUSH_MS;
    }
    // Not written (the store is not open yet, or a write failed): tried again, backing off, even
    // if no new event comes to trigger it.
    if (this.#pending.length > 0) {
      this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
      this.#schedule(this.#retryMs);
    }
  }
}
