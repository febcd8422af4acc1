/**
 * Thrown when an upstream call could not get a connection of its deployment's pool in time:
 * every connection is busy (or this tenant already holds its share) for longer than the wait
 * limit, or too many calls are already waiting. Nothing was sent, so another deployment may try.
 */
export class PoolSaturatedError extends Error {
  readonly code = 'GATEWAY_POOL_SATURATED';
  constructor(readonly reason: 'wait-limit' | 'queue-full') {
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
}

interface Waiter {
  readonly tenant: string;
  readonly grant: (release: ReleaseSlot) => void;
}

/**
 * Admission to one deployment's connection pool. undici queues a call it cannot dispatch and
 * looks at its abort signal only once dispatched, so a queued call outlived its deadline, its
 * client and the shutdown. Calls wait here instead, where every wait is bounded (a wait limit,
 * the request's signal) and leaves the queue at once when it ends. A tenant holds at most
 * `maxPerTenant` slots, and a freed slot goes to the waiting tenant that holds the fewest, so one
 * tenant's slow streams cannot starve the others.
 */
export class PoolGate {
  readonly #options: PoolGateOptions;
  readonly #heldBy = new Map<string, number>();
  readonly #waiting: Waiter[] = [];
  #held = 0;

  constructor(options: PoolGateOptions) {
    this.#options = { ...options, maxPerTenant: Math.min(options.maxPerTenant, options.capacity) };
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
    return this.#waiting.length;
  }

  /** A slot now, or undefined when the pool is full or `tenant` holds its share. */
  tryAcquire(tenant: string): ReleaseSlot | undefined {
    return this.#canTake(tenant) ? this.#take(tenant) : undefined;
  }

  /**
   * A slot, waiting at most `maxWaitMs`. Rejects with PoolSaturatedError when the wait limit
   * passes or too many calls wait, and with the signal's reason when it aborts; either way the
   * call leaves the queue at once.
   */
  acquire(tenant: string, signal: AbortSignal, maxWaitMs: number): Promise<ReleaseSlot> {
    const now = this.tryAcquire(tenant);
    if (now) return Promise.resolve(now);
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#waiting.length >= this.#options.maxWaiting || maxWaitMs <= 0) return Promise.reject(new PoolSaturatedError(maxWaitMs <= 0 ? 'wait-limit' : 'queue-full'));
    return new Promise((resolve, reject) => {
      const leave = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
      };
      const onAbort = (): void => {
        leave();
        reject(signal.reason);
      };
      const waiter: Waiter = {
        tenant,
        grant: (release) => {
          leave();
          resolve(release);
        },
      };
      const timer = setTimeout(() => {
        leave();
        reject(new PoolSaturatedError('wait-limit'));
      }, maxWaitMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #canTake(tenant: string): boolean {
    return this.#held < this.#options.capacity && (this.#heldBy.get(tenant) ?? 0) < this.#options.maxPerTenant;
  }

  #take(tenant: string): ReleaseSlot {
    this.#held++;
    this.#heldBy.set(tenant, (this.#heldBy.get(tenant) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held--;
      const left = (this.#heldBy.get(tenant) ?? 1) - 1;
      if (left > 0) this.#heldBy.set(tenant, left);
      else this.#heldBy.delete(tenant);
      this.#handOut();
    };
  }

  /**
   * Gives free slots to waiters: the eligible waiter whose tenant holds the fewest slots, the
   * oldest first among equals. Linear in the queue, which is bounded by `maxWaiting`.
   */
  #handOut(): void {
    while (this.#held < this.#options.capacity && this.#waiting.length > 0) {
      let best: Waiter | undefined;
      let bestHeld = Infinity;
      for (const w of this.#waiting) {
        const held = this.#heldBy.get(w.tenant) ?? 0;
        if (held < this.#options.maxPerTenant && held < bestHeld) {
          best = w;
          bestHeld = held;
          if (held === 0) break;
        }
      }
      if (!best) return;
      best.grant(this.#take(best.tenant));
    }
  }
}
