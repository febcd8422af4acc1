import type { QueueObserver } from '../queue/wait.js';
import { PoolGate } from './pool-gate.js';
import { Pool } from './undici-pool.js';

export interface PoolOptions {
  readonly connections: number;
  readonly connectTimeoutMs: number;
  /** Connections one tenant may hold at once (see PoolGate). */
  readonly maxPerTenant: number;
  /**
   * Calls that may wait for a connection, in all and per tenant (`queue.maxTotal`,
   * `queue.maxPerTenant` when the queue is on); default WAITING_PER_CONNECTION × connections.
   */
  readonly maxWaiting?: number;
  readonly maxWaitingPerTenant?: number;
}

/** One deployment's connections and the gate every call passes to use one. */
export interface UpstreamLane {
  readonly pool: Pool;
  readonly gate: PoolGate;
}

/**
 * Calls that may wait for a connection, per connection: past that a call is refused at once
 * (`upstream_saturated`) instead of queueing without bound.
 */
const WAITING_PER_CONNECTION = 4;

/**
 * Keep-alive connection pools, one per deployment (not per origin: two deployments on one
 * origin must not starve each other), each behind a PoolGate. Created at compile time so the
 * request path never builds one; a hot reload gets the same lane back for an unchanged
 * deployment, origin and options.
 */
export class UpstreamPools {
  readonly #lanes = new Map<string, UpstreamLane>();
  /** Pools released by a reload whose close is still waiting for their last requests. */
  readonly #closing = new Set<Pool>();

  /** `observer` hears every wait for a connection (queue metrics). */
  constructor(private readonly observer?: QueueObserver) {}

  /** The lane for `deployment` at `origin` (scheme://host:port) with these options, created on first use. */
  get(deployment: string, origin: string, options: PoolOptions): UpstreamLane {
    // Options are part of the key so that a reload changing maxConnections gets a new pool.
    const maxWaiting = options.maxWaiting ?? options.connections * WAITING_PER_CONNECTION;
    const maxWaitingPerTenant = options.maxWaitingPerTenant ?? maxWaiting;
    const key = `${deployment} ${origin} ${options.connections} ${options.connectTimeoutMs} ${options.maxPerTenant} ${maxWaiting} ${maxWaitingPerTenant}`;
    let lane = this.#lanes.get(key);
    if (!lane) {
      const pool = new Pool(origin, {
        connections: options.connections,
        connect: { timeout: options.connectTimeoutMs },
        // Upstreams often close idle sockets after ~5 s; reusing one they closed costs a retry.
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 600_000,
      });
      const gate = new PoolGate({ capacity: options.connections, maxPerTenant: options.maxPerTenant, maxWaiting, maxWaitingPerTenant, ...(this.observer ? { observer: this.observer } : {}) });
      lane = { pool, gate };
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  /** Pools currently open. */
  get size(): number {
    return this.#lanes.size;
  }

  /**
   * Closes every pool not in `keep` (after a reload, once no request uses the old runtime):
   * undici's close lets requests still running on a pool finish first, for up to `closeMs`;
   * whatever is left then is destroyed, so a call undici never dispatches cannot hold the pool
   * (and every later reload's cleanup, chained behind this one) forever. Never rejects.
   */
  async closeUnused(keep: ReadonlySet<Pool>, closeMs = UNUSED_POOL_CLOSE_MS): Promise<void> {
    const pools: Pool[] = [];
    for (const [key, { pool }] of this.#lanes) {
      if (keep.has(pool)) continue;
      this.#lanes.delete(key);
      this.#closing.add(pool);
      pools.push(pool);
    }
    await closeWithin(pools, closeMs);
    for (const pool of pools) this.#closing.delete(pool);
  }

  /**
   * Shutdown: closes every pool, letting requests still running finish for up to `closeMs`,
   * then destroys whatever is left (requests undici still holds are aborted), so the process
   * can always exit. Never rejects.
   */
  async close(closeMs: number): Promise<void> {
    const pools = [...[...this.#lanes.values()].map((l) => l.pool), ...this.#closing];
    this.#lanes.clear();
    this.#closing.clear();
    await closeWithin(pools, closeMs);
  }

  /** Destroys every pool at once, aborting in-flight requests. */
  async destroy(): Promise<void> {
    const pools = [...[...this.#lanes.values()].map((l) => l.pool), ...this.#closing];
    this.#lanes.clear();
    this.#closing.clear();
    await Promise.all(pools.map((p) => p.destroy()));
  }
}

/** How long a pool released by a reload may take to finish its last calls before it is destroyed. */
const UNUSED_POOL_CLOSE_MS = 10_000;

/** Closes `pools`, waiting at most `closeMs`, then destroys what is left. Never rejects. */
async function closeWithin(pools: readonly Pool[], closeMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), closeMs)));
  // undici's close() never settles if a queued request never runs, and after destroy() a
  // pending close stays pending: race it, never await it alone.
  const closed = Promise.all(pools.map((p) => (p.closed ? undefined : p.close().catch(() => undefined)))).then(() => false);
  const timedOut = await Promise.race([closed, expired]);
  clearTimeout(timer);
  if (timedOut) await Promise.all(pools.map((p) => (p.destroyed ? undefined : p.destroy().catch(() => undefined))));
}
