import { systemClock, type Clock } from '../clock.js';
import { FairQueue } from '../queue/fair-queue.js';
import type { Priority } from '../queue/priority.js';
import { evictWaiter, noQueueObserver, QueueWaitError, waitInQueue, type QueueObserver, type Waiter } from '../queue/wait.js';

/**
 * Thrown when an upstream call could not get a connection of its deployment's pool in time:
 * every connection is busy (or this tenant already holds its share) for longer than the wait
 * limit, or too many calls are already waiting. Nothing was sent, so another deployment may try.
 */
export class PoolSaturatedError extends Error {
  readonly code = 'GATEWAY_POOL_SATURATED';
  constructor(
    readonly reason: 'wait-limit' | 'queue-full',
    /** When a connection is likely to be free for a new call, from the pool's observed turnover (≥ 1 s). */
    readonly retryAfterMs = 1_000,
  ) {
    super(reason === 'wait-limit' ? 'no upstream connection became free within the wait limit' : 'too many calls are waiting for an upstream connection');
    this.name = 'PoolSaturatedError';
  }
}

/** Gives a connection slot back; safe to call more than once. */
export type ReleaseSlot = () => void;

export interface PoolGateOptions {
  /** Calls in flight at once: the pool's connection count, so undici's own queue stays empty. */
  readonly capacity: number;
  /** Slots one tenant may hold at once (≤ capacity): the rest stay free for other tenants. */
  readonly maxPerTenant: number;
  /** Calls that may wait at once; past that a call is refused at once. */
  readonly maxWaiting: number;
  /** Calls one tenant may have waiting at once (default: `maxWaiting`). */
  readonly maxWaitingPerTenant?: number;
  /** Where waits are reported (queue depth and wait-time metrics). */
  readonly observer?: QueueObserver;
  readonly clock?: Clock;
}

/**
 * Admission to one deployment's connection pool. undici queues a call it cannot dispatch and
 * looks at its abort signal only once dispatched, so a queued call outlived its deadline, its
 * client and the shutdown. Calls wait here instead, where every wait is bounded (a wait limit,
 * the request's signal) and leaves the queue at once when it ends. A tenant holds at most
 * `maxPerTenant` slots, and a freed slot goes to the next waiter of the fair queue
 * (queue/fair-queue.ts): the highest priority class first, then tenants by weighted round robin
 * (a tenant holding its share sits out until it gives one back), so one tenant's burst or slow
 * streams cannot starve the others, and `low` (batch) calls only get what live calls leave.
 */
export class PoolGate {
  readonly #options: PoolGateOptions;
  readonly #heldBy = new Map<string, number>();
  readonly #waiting: FairQueue<Waiter<ReleaseSlot>>;
  readonly #observer: QueueObserver;
  readonly #clock: Clock;
  #held = 0;
  /** Mean time a slot is held (exponentially weighted), ms; undefined before the first release. */
  #holdMs: number | undefined;

  constructor(options: PoolGateOptions) {
    this.#options = { ...options, maxPerTenant: Math.min(options.maxPerTenant, options.capacity) };
    this.#waiting = new FairQueue<Waiter<ReleaseSlot>>({ maxTotal: options.maxWaiting, maxPerTenant: options.maxWaitingPerTenant ?? options.maxWaiting }, evictWaiter);
    this.#observer = options.observer ?? noQueueObserver;
    this.#clock = options.clock ?? systemClock;
  }

  /** Slots in use. */
  get held(): number {
    return this.#held;
  }

  /** Slots there are (the deployment's connections). */
  get capacity(): number {
    return this.#options.capacity;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** A slot now, or undefined when the pool is full or `tenant` holds its share. */
  tryAcquire(tenant: string): ReleaseSlot | undefined {
    return this.#canTake(tenant) ? this.#take(tenant) : undefined;
  }

  /**
   * A slot, waiting at most `maxWaitMs` in the fair queue in class `priority`, with its tenant's
   * `weight` within the class. Rejects with
   * PoolSaturatedError when the wait limit passes or too many calls wait, and with the signal's
   * reason when it aborts; either way the call leaves the queue at once.
   */
  async acquire(tenant: string, signal: AbortSignal, maxWaitMs: number, priority: Priority = 'normal', weight = 1): Promise<ReleaseSlot> {
    const now = this.tryAcquire(tenant);
    if (now) return now;
    try {
      return await waitInQueue(this.#waiting, { tenant, signal, maxWaitMs, priority, weight }, 'pool', this.#observer, this.#clock);
    } catch (err) {
      if (err instanceof QueueWaitError) throw new PoolSaturatedError(err.outcome === 'full' ? 'queue-full' : 'wait-limit', this.#retryAfterMs());
      throw err;
    }
  }

  #canTake(tenant: string): boolean {
    return this.#held < this.#options.capacity && (this.#heldBy.get(tenant) ?? 0) < this.#options.maxPerTenant;
  }

  /**
   * Ms until a call arriving now would likely get a connection: the mean hold time × (calls
   * waiting + 1) ÷ connections, at least 1 s (Retry-After has whole seconds); 1 s before any
   * hold was measured.
   */
  #retryAfterMs(): number {
    if (this.#holdMs === undefined) return 1_000;
    return Math.max(1_000, Math.ceil((this.#holdMs * (this.#waiting.size + 1)) / this.#options.capacity));
  }

  #take(tenant: string): ReleaseSlot {
    const takenMs = this.#clock.nowMs();
    this.#held++;
    const holds = (this.#heldBy.get(tenant) ?? 0) + 1;
    this.#heldBy.set(tenant, holds);
    // At its share, the tenant's waiters sit out of the rotation until it gives a slot back.
    if (holds >= this.#options.maxPerTenant) this.#waiting.block(tenant);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const heldMs = this.#clock.nowMs() - takenMs;
      this.#holdMs = this.#holdMs === undefined ? heldMs : this.#holdMs * 0.8 + heldMs * 0.2;
      this.#held--;
      const left = (this.#heldBy.get(tenant) ?? 1) - 1;
      if (left > 0) this.#heldBy.set(tenant, left);
      else this.#heldBy.delete(tenant);
      if (left < this.#options.maxPerTenant) this.#waiting.unblock(tenant);
      this.#handOut();
    };
  }

  /** Gives free slots to the fair queue's next waiters (O(1) each). */
  #handOut(): void {
    while (this.#held < this.#options.capacity) {
      const next = this.#waiting.shift();
      if (!next) return;
      next.grant(this.#take(next.tenant));
    }
  }
}
