import type { Clock } from '../clock.js';
import { appendAudit, type AuditEvent } from './audit.js';
import type { ControlDb } from './store/store.js';

const MAX_PENDING = 1_000;
const BATCH = 100;
const FLUSH_MS = 250;
/** Events recorded one by one: a burst of BURST, then RATE_PER_S on average; the rest are counted. */
export const SECURITY_EVENT_BURST = 200;
export const SECURITY_EVENT_RATE_PER_S = 20;

/**
 * Security events (a refused sign-in, a denied admin call, a use of the bootstrap credential)
 * come from requests that changed nothing, possibly a flood of them: they are recorded off the
 * request path, in batches, from a bounded queue. The log only grows: anyone who can reach the
 * admin API could otherwise add a row per request, without a credential, for as long as they
 * like. So events are written one by one up to a rate (a token bucket); beyond it, or beyond
 * MAX_PENDING queued, they are dropped and counted, and the count itself is recorded
 * (`audit.dropped`), so a flood can fill neither memory nor disk, nor hide that it happened.
 */
export class SecurityAuditQueue {
  #pending: AuditEvent[] = [];
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
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
    const now = this.clock.nowMs();
    this.#tokens = Math.min(SECURITY_EVENT_BURST, this.#tokens + ((now - this.#refilledAtMs) * SECURITY_EVENT_RATE_PER_S) / 1000);
    this.#refilledAtMs = now;
    if (this.#pending.length >= MAX_PENDING || this.#tokens < 1) {
      this.#dropped++;
      this.on.onDropped();
      this.#schedule();
      return;
    }
    this.#tokens -= 1;
    this.#pending.push(event);
    this.#schedule();
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, FLUSH_MS);
    this.#timer.unref?.();
  }

  /** Writes what is queued (also at shutdown). Events stay queued while the store is down. */
  flush(): Promise<void> {
    return (this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined)));
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    await this.flush();
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
        return;
      }
      this.#pending.splice(0, batch.length);
      this.#dropped -= dropped;
    }
  }
}
