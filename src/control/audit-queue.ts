import type { Clock } from '../clock.js';
import { appendAudit, type AuditEvent } from './audit.js';
import type { ControlDb } from './store/store.js';

const MAX_PENDING = 1_000;
const BATCH = 100;
const FLUSH_MS = 250;
const RETRY_MAX_MS = 30_000;
/** Events recorded one by one: a burst of BURST, then RATE_PER_S on average; the rest are counted. */
export const SECURITY_EVENT_BURST = 200;
export const SECURITY_EVENT_RATE_PER_S = 20;

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
  #tokens = SECURITY_EVENT_BURST;
  #refilledAtMs: number;

  constructor(
    private readonly db: () => ControlDb | undefined,
    private readonly clock: Clock,
    private readonly on: { readonly onError: (err: Error) => void; readonly onDropped: () => void },
  ) {
    this.#refilledAtMs = clock.nowMs();
  }

  record(event: AuditEvent): void {
    // An anonymous flood must not add a row per request: a token bucket lets bursts through
    // and counts the rest, whose number is written as one audit.dropped entry.
    const now = this.clock.nowMs();
    this.#tokens = Math.min(SECURITY_EVENT_BURST, this.#tokens + ((now - this.#refilledAtMs) * SECURITY_EVENT_RATE_PER_S) / 1000);
    this.#refilledAtMs = now;
    if (this.#pending.length >= MAX_PENDING || this.#tokens < 1) {
      this.#dropped++;
      this.on.onDropped();
      this.#schedule(FLUSH_MS);
      return;
    }
    this.#tokens -= 1;
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
    // A count of dropped events rides with a batch, or is written alone at most once per flush.
    let countAlone = this.#dropped > 0;
    while (db && (this.#pending.length > 0 || countAlone)) {
      countAlone = false;
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
    if (this.#pending.length > 0 || this.#dropped > 0) {
      this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
      this.#schedule(this.#retryMs);
    }
  }
}
