import type { Pool } from 'undici';
import type { GatewayConfig } from '../config/load.js';
import { buildRuntime, type Runtime, type SharedDeps } from './runtime.js';

/** A request's hold on the runtime it started with; release exactly once when it ends. */
export interface RuntimeLease {
  readonly runtime: Runtime;
  release(): void;
}

/** What a swap changed, by deployment name. */
export interface SwapResult {
  readonly runtime: Runtime;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Present before and after but changed, so compiled afresh (new breaker, maybe new pool). */
  readonly rebuilt: readonly string[];
}

/**
 * Holds the current runtime and swaps it whole on reload. Requests lease the runtime they start
 * on; a replaced runtime is retired, and once its last request ends, the upstream pools that no
 * live runtime uses any more are closed. Breakers own no timers, so a removed deployment's
 * breaker simply becomes garbage with its runtime.
 */
export class RuntimeHolder {
  #current: Runtime;
  readonly #shared: SharedDeps;
  readonly #inFlight = new Map<Runtime, number>();
  readonly #retired = new Set<Runtime>();
  #cleanup: Promise<void> = Promise.resolve();

  constructor(config: GatewayConfig, shared: SharedDeps) {
    this.#shared = shared;
    this.#current = buildRuntime(config, 1, shared);
  }

  get current(): Runtime {
    return this.#current;
  }

  /** Runtimes replaced by a reload that still have requests in flight. */
  get retiredInUse(): number {
    return this.#retired.size;
  }

  /** Takes the current runtime for one request. */
  acquire(): RuntimeLease {
    const runtime = this.#current;
    this.#inFlight.set(runtime, (this.#inFlight.get(runtime) ?? 0) + 1);
    let released = false;
    return {
      runtime,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.#inFlight.get(runtime) ?? 1) - 1;
        if (left > 0) {
          this.#inFlight.set(runtime, left);
          return;
        }
        this.#inFlight.delete(runtime);
        if (this.#retired.delete(runtime)) this.#closeUnusedPools();
      },
    };
  }

  /**
   * Compiles `config` (already validated) and makes it current. Throws if compiling fails, in
   * which case the current runtime stays.
   */
  swap(config: GatewayConfig): SwapResult {
    const old = this.#current;
    const runtime = buildRuntime(config, old.version + 1, this.#shared, old);
    this.#current = runtime;
    if (this.#inFlight.has(old)) this.#retired.add(old);
    else this.#closeUnusedPools();
    const added = [...runtime.deployments.keys()].filter((n) => !old.deployments.has(n));
    const removed = [...old.deployments.keys()].filter((n) => !runtime.deployments.has(n));
    const rebuilt = [...runtime.deployments].filter(([n, d]) => old.deployments.has(n) && old.deployments.get(n) !== d).map(([n]) => n);
    return { runtime, added, removed, rebuilt };
  }

  /** Resolves once pools released by earlier swaps have finished closing. */
  settled(): Promise<void> {
    return this.#cleanup;
  }

  #closeUnusedPools(): void {
    // The set to keep is computed when the close runs, so a pool made by a later swap is kept.
    const keep = (): Set<Pool> => {
      const pools = new Set<Pool>(this.#current.pools);
      for (const r of this.#retired) for (const p of r.pools) pools.add(p);
      return pools;
    };
    this.#cleanup = this.#cleanup.then(() => this.#shared.pools.closeUnused(keep())).catch(() => undefined);
  }
}
