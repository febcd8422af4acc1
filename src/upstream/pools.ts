import { Pool } from 'undici';

export interface PoolOptions {
  readonly connections: number;
  readonly connectTimeoutMs: number;
}

/**
 * Keep-alive connection pools, one per upstream origin and pool options, shared by every
 * deployment on that origin with the same options. Created at compile time so the request path
 * never builds one; a hot reload gets the same pool back for an unchanged origin.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  /** The pool for `origin` (scheme://host:port) with these options, created on first use. */
  get(origin: string, options: PoolOptions): Pool {
    // Options are part of the key so that a reload changing maxConnections gets a new pool.
    const key = `${origin} ${options.connections} ${options.connectTimeoutMs}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: options.connections,
        connect: { timeout: options.connectTimeoutMs },
        // Upstreams often close idle sockets after ~5 s; reusing one they closed costs a retry.
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 600_000,
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** Pools currently open. */
  get size(): number {
    return this.#pools.size;
  }

  /**
   * Closes every pool not in `keep` (after a reload, once no request uses the old runtime):
   * undici's close lets requests still queued on a pool finish first.
   */
  async closeUnused(keep: ReadonlySet<Pool>): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, pool] of this.#pools) {
      if (keep.has(pool)) continue;
      this.#pools.delete(key);
      closing.push(pool.close());
    }
    await Promise.all(closing);
  }

  /** Closes every pool, waiting for in-flight requests; used on shutdown. */
  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }

  /** Destroys every pool at once, aborting in-flight requests. */
  async destroy(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.destroy()));
    this.#pools.clear();
  }
}
