import type { Clock } from '../clock.js';
import { appendAudit, type AuditEvent } from './audit.js';
import type { ControlDb } from './store/store.js';

const MAX_PENDING = 1_000;
const BATCH = 100;
const FLUSH_MS = 250;
/** After a failed write (the database is away), the queue tries again this long after. */
const RETRY_MS = 5_000;

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
  #closed = false;

  constructor(
    private readonly db: () => ControlDb | undefined,
    private readonly clock: Clock,
    private readonly onError: (err: Error) => void,
  ) {}

  record(event: AuditEvent): void {
    if (this.#pending.length >= MAX_PENDING) {
      this.#dropped++;
      return;
    }
    this.#pending.push(event);
    this.#schedule(FLUSH_MS);
  }

  #schedule(ms: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, ms);
    this.#timer.unref?.();
  }

  /** Writes what is queued (also at shutdown). Events stay queued while the store is down, and are retried. */
  flush(): Promise<void> {
    return (this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
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
        this.onError(err as Error);
        // Not only when the next event comes: a quiet gateway would keep these unwritten.
        this.#schedule(RETRY_MS);
        return;
      }
      this.#pending.splice(0, batch.length);
      this.#dropped -= dropped;
    }
  }
}
