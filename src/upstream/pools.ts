import { Pool } from 'undici';

export interface PoolOptions {
  readonly connections: number;
  readonly connectTimeoutMs: number;
}

/**
 * Keep-alive connection pools, one per upstream origin, shared by every deployment on that
 * origin. Created at compile time so the request path never builds one.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  /** The pool for `origin` (scheme://host:port), created on first use with these options. */
  get(origin: string, options: PoolOptions): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: options.connections,
        connect: { timeout: options.connectTimeoutMs },
        // Upstreams often close idle sockets after ~5 s; reusing one they closed costs a retry.
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 600_000,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
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
