import { randomUUID } from 'node:crypto';
import { MemoryConcurrencyLimiter, once, type Acquired, type ConcurrencyLimiter, type Lease } from '../ratelimit/concurrency.js';
import { primaryCall } from './ipc-limiter.js';
import type { RpcClient, RpcHandlers } from './rpc.js';

/**
 * The concurrency limiter of a `--workers N` process group: the slots live in the primary
 * (ConcurrencySlots) and every worker acquires and releases them over IPC, so `maxInFlight` is
 * exact across workers as it is in one process. The worker names each lease itself, so it can
 * release a lease whose grant it never saw: when an acquire times out, the primary may still
 * grant it later (or already did, and the answer was late), and the release that follows frees
 * that slot. If the primary does not answer in time the acquire rejects with
 * StateUnavailableError, as IpcRateLimiter does, and the worker's FallbackConcurrencyLimiter
 * applies the failure mode.
 */
export class IpcConcurrencyLimiter implements ConcurrencyLimiter {
  constructor(private readonly rpc: RpcClient) {}

  async acquire(key: string, max: number): Promise<Acquired> {
    const id = randomUUID();
    let granted: unknown;
    try {
      granted = await primaryCall(this.rpc, 'concurrency.acquire', { id, key, max });
    } catch (err) {
      // A grant may still arrive (or have been made) after we gave up: give it back.
      this.#release(id);
      throw err;
    }
    if (granted !== true) return { lease: undefined, degraded: false };
    return { lease: once(() => this.#release(id)), degraded: false };
  }

  #release(id: string): void {
    // Never throws. If the primary is gone, so are its slots; if it is stuck, this worker's
    // slots come back when the worker exits.
    this.rpc.notify('concurrency.release', { id });
  }
}

// Releases that found no lease, remembered per worker so that an acquire arriving after its own
// release (the worker gave up first) is refused rather than granted to nobody. Bounded: the
// oldest are forgotten first.
const MAX_TOMBSTONES = 1_000;

interface Holder {
  readonly leases: Map<string, Lease>;
  readonly released: Set<string>;
}

/**
 * The primary's slots, with the worker that holds each one, so that when a worker exits (crash
 * or not) every slot it held comes back at once.
 */
export class ConcurrencySlots {
  readonly #slots = new MemoryConcurrencyLimiter();
  readonly #holders = new Map<string, Holder>();

  /** Slots held under `key`, across every worker. */
  inFlight(key: string): number {
    return this.#slots.inFlight(key);
  }

  /** Takes a slot for `owner` under the lease id it chose; true when granted. Idempotent per id. */
  acquire(owner: string, id: string, key: string, max: number): boolean {
    const holder = this.#holder(owner);
    if (holder.leases.has(id)) return true;
    if (holder.released.delete(id)) return false;
    const lease = this.#slots.tryAcquire(key, max);
    if (!lease) return false;
    holder.leases.set(id, lease);
    return true;
  }

  release(owner: string, id: string): void {
    const holder = this.#holder(owner);
    const lease = holder.leases.get(id);
    if (lease) {
      holder.leases.delete(id);
      lease.release();
      return;
    }
    holder.released.add(id);
    if (holder.released.size > MAX_TOMBSTONES) {
      const oldest = holder.released.values().next();
      if (!oldest.done) holder.released.delete(oldest.value);
    }
  }

  /** Gives back every slot `owner` holds (it exited); returns how many. */
  releaseAll(owner: string): number {
    const holder = this.#holders.get(owner);
    this.#holders.delete(owner);
    if (!holder) return 0;
    for (const lease of holder.leases.values()) lease.release();
    return holder.leases.size;
  }

  #holder(owner: string): Holder {
    let holder = this.#holders.get(owner);
    if (!holder) {
      holder = { leases: new Map(), released: new Set() };
      this.#holders.set(owner, holder);
    }
    return holder;
  }
}

/** The primary's side for one worker: serves `concurrency.*` calls, attributing slots to `owner`. */
export function concurrencyHandlers(slots: ConcurrencySlots, owner: string): RpcHandlers {
  return {
    'concurrency.acquire': async (params) => {
      const { id, key, max } = params as { id: string; key: string; max: number };
      return slots.acquire(owner, id, key, max);
    },
    'concurrency.release': async (params) => {
      slots.release(owner, (params as { id: string }).id);
      return null;
    },
  };
}
