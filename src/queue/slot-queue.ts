/**
 * Waiting for a tenant's concurrency slot (`tenants.<name>.concurrency`) instead of a 429. The
 * slots stay where they are (this process, the primary of `--workers`, or Redis leases shared by
 * every replica); what waits is local: each process queues its own requests in a FairQueue
 * (priority, then FIFO within the tenant) and asks the slots again
 *   - when a lease it handed out is released (in-process slots see every release this way), and
 *   - on a short jittered poll while anything waits, because a slot freed by another replica or
 *     worker sends no notice here (nor, in-process, one whose lease was taken while the queue was
 *     off: a reload may turn it on or off while requests hold slots).
 * So the slot count is global, the order and fairness of waiters per process (docs/queueing.md).
 * At most one acquire per tenant is in flight at a time, whatever the number of waiters.
 */
import type { Clock } from '../clock.js';
import type { ConcurrencyLimiter, Lease } from '../ratelimit/concurrency.js';
import type { FailureMode } from '../ratelimit/limiter.js';
import { FairQueue } from './fair-queue.js';
import { evictWaiter, QueueWaitError, waitInQueue, type QueueObserver, type Waiter, type WaitRequest } from './wait.js';

/** What a config reload may change. */
export interface SlotQueueSettings {
  /** Requests one tenant may have waiting, and waiting in all. */
  readonly maxPerTenant: number;
  readonly maxTotal: number;
  /** Mean interval of the poll for releases made elsewhere or not watched here, jittered ±50 % so replicas do not ask in step. */
  readonly pollMs: number;
}

export interface SlotQueueOptions extends SlotQueueSettings {
  readonly observer: QueueObserver;
  readonly clock: Clock;
  readonly random?: () => number;
}

/** Per tenant that has waiters: the limit to ask for, the poll timer, and the pump's state. */
interface TenantWaits {
  max: number;
  mode: FailureMode | undefined;
  poll: NodeJS.Timeout | undefined;
  pumping: boolean;
  /** A release (or poll) came while the pump was asking: ask again before stopping. */
  again: boolean;
  /** Why the last ask failed (shared state unavailable, fail-closed); undefined once it answers. */
  unavailable: unknown;
}

/** Hold times are remembered for at most this many tenants (for Retry-After); then forgotten wholesale. */
const MAX_HOLD_ENTRIES = 10_000;

export class SlotQueue {
  readonly #queue: FairQueue<Waiter<Lease>>;
  readonly #tenants = new Map<string, TenantWaits>();
  /** Mean time a slot is held, per tenant (exponentially weighted), ms. */
  readonly #holdMs = new Map<string, number>();
  #options: SlotQueueOptions;
  readonly #random: () => number;

  constructor(
    private readonly limiter: ConcurrencyLimiter,
    options: SlotQueueOptions,
  ) {
    this.#options = options;
    this.#queue = new FairQueue<Waiter<Lease>>({ maxPerTenant: options.maxPerTenant, maxTotal: options.maxTotal }, evictWaiter);
    this.#random = options.random ?? Math.random;
  }

  /** Applies a reloaded config's settings; waiters stay where they are. */
  configure(settings: SlotQueueSettings): void {
    this.#options = { ...this.#options, ...settings };
    this.#queue.setLimits(settings);
  }

  /** Requests waiting for a slot of `tenant` in this process. */
  waiting(tenant: string): number {
    return this.#queue.sizeOf(tenant);
  }

  /** Requests waiting in this process, all tenants. */
  get size(): number {
    return this.#queue.size;
  }

  /**
   * `lease`, watched: its release wakes the tenant's next waiter here, and its hold time feeds
   * the Retry-After of refusals. Release stays idempotent and never throws.
   */
  watch(tenant: string, lease: Lease): Lease {
    const startMs = this.#options.clock.nowMs();
    let done = false;
    return {
      release: () => {
        if (done) return;
        done = true;
        lease.release();
        this.#recordHold(tenant, this.#options.clock.nowMs() - startMs);
        // On the next microtask: a request that gives its slot back only to take one again at
        // once (AdmissionWait.resume) gets it first, rather than lose it to its own waiters.
        if (this.#queue.sizeOf(tenant) > 0) queueMicrotask(() => this.#pump(tenant));
      },
    };
  }

  /**
   * Waits for a slot of `tenant` (at most `max` in flight), in line behind its earlier waiters of
   * the same or a higher class. Resolves with a watched lease; rejects like waitInQueue
   * (QueueWaitError, or the signal's reason).
   */
  wait(tenant: string, max: number, mode: FailureMode | undefined, req: WaitRequest): Promise<Lease> {
    let t = this.#tenants.get(tenant);
    if (!t) {
      t = { max, mode, poll: undefined, pumping: false, again: false, unavailable: undefined };
      this.#tenants.set(tenant, t);
    }
    // The newest request's limit: a reload may have changed it.
    t.max = max;
    t.mode = mode;
    const waited = waitInQueue(this.#queue, req, 'concurrency', this.#options.observer, this.#options.clock);
    // A slot may have come free between the refusal and joining the line.
    this.#pump(tenant);
    return waited.catch((err: unknown) => {
      // A wait that ran out while the slots could not be asked (fail-closed, shared state down)
      // ends with that error, as a request arriving now would: not "too many in flight".
      const down = this.#tenants.get(tenant)?.unavailable;
      this.#forgetIfIdle(tenant);
      throw err instanceof QueueWaitError && err.outcome === 'timeout' && down !== undefined ? down : err;
    });
  }

  /**
   * Ms a refused request should wait before trying again: the tenant's mean hold time × (its
   * waiters here + 1) ÷ its slots (the time for that many slots to turn over), at least 1 s
   * (Retry-After has whole seconds); 1 s before any hold was measured.
   */
  retryAfterMs(tenant: string, max: number): number {
    const hold = this.#holdMs.get(tenant);
    if (hold === undefined) return 1_000;
    return Math.max(1_000, Math.ceil((hold * (this.#queue.sizeOf(tenant) + 1)) / Math.max(1, max)));
  }

  /** Asks the slots for the tenant's waiters, one acquire at a time, until refused or nobody waits. */
  #pump(tenant: string): void {
    const t = this.#tenants.get(tenant);
    if (!t) return;
    if (t.pumping) {
      t.again = true;
      return;
    }
    t.pumping = true;
    void this.#pumpLoop(tenant, t).finally(() => {
      t.pumping = false;
      this.#afterPump(tenant, t);
    });
  }

  async #pumpLoop(tenant: string, t: TenantWaits): Promise<void> {
    while (this.#queue.sizeOf(tenant) > 0) {
      t.again = false;
      let lease: Lease | undefined;
      try {
        lease = (await this.limiter.acquire(tenant, t.max, t.mode)).lease;
        t.unavailable = undefined;
      } catch (err) {
        // Shared state unavailable (fail-closed): the poll asks again; waits end at their limit.
        t.unavailable = err;
        return;
      }
      if (!lease) {
        if (t.again) continue;
        return;
      }
      const next = this.#queue.shiftTenant(tenant);
      if (!next) {
        // Everyone left while we asked: the slot goes back at once.
        lease.release();
        return;
      }
      next.grant(this.watch(tenant, lease));
    }
  }

  #afterPump(tenant: string, t: TenantWaits): void {
    if (this.#queue.sizeOf(tenant) === 0) {
      this.#forgetIfIdle(tenant);
      return;
    }
    // In-process slots poll too: a lease taken while the queue was off (before a reload turned it
    // on, or by a runtime that turned it off) was never watched, and its release wakes nobody.
    const { pollMs } = this.#options;
    if (t.poll !== undefined) return;
    const delayMs = Math.max(1, Math.round(pollMs * (0.5 + this.#random())));
    t.poll = setTimeout(() => {
      t.poll = undefined;
      this.#pump(tenant);
    }, delayMs);
    t.poll.unref();
  }

  #forgetIfIdle(tenant: string): void {
    const t = this.#tenants.get(tenant);
    if (!t || t.pumping || this.#queue.sizeOf(tenant) > 0) return;
    clearTimeout(t.poll);
    this.#tenants.delete(tenant);
  }

  #recordHold(tenant: string, ms: number): void {
    const before = this.#holdMs.get(tenant);
    if (before === undefined && this.#holdMs.size >= MAX_HOLD_ENTRIES) this.#holdMs.clear();
    this.#holdMs.set(tenant, before === undefined ? ms : before * 0.8 + ms * 0.2);
  }
}
