/**
 * The live load of one deployment, shared by every alias that routes to it: requests and tokens
 * in flight from this replica, what the server's own metrics said when last scraped (opt-in,
 * routing/upstream-metrics.ts), and which prompt prefixes it has been sent recently (an
 * approximation of its prefix cache, for prefix-aware routing). Plain counters: reading and
 * updating them costs nothing measurable on the request path.
 */

/** What a server's own metrics said (vLLM or Triton); fields it does not export are undefined. */
export interface ScrapedLoad {
  /** Monotonic ms when the scrape completed. */
  readonly atMs: number;
  /** Requests being processed (vLLM `num_requests_running`, Triton executing). */
  readonly running?: number | undefined;
  /** Requests queued in the server (vLLM `num_requests_waiting`, Triton pending). */
  readonly waiting?: number | undefined;
  /** KV-cache use, 0..1. */
  readonly kvCacheUsage?: number | undefined;
  /** Prefix-cache hit rate since the previous scrape, 0..1. */
  readonly prefixCacheHitRate?: number | undefined;
  /** Mean time a request waited in the server's queue since the previous scrape, ms. */
  readonly queueTimeMs?: number | undefined;
}

/** Prefix-block hashes remembered per deployment (oldest forgotten first). */
export const PREFIX_MEMORY_BLOCKS = 16_384;

export class DeploymentLoad {
  /** Attempts from this replica in flight now (a stream counts until its last chunk). */
  inFlight = 0;
  /** Their prompt tokens plus output reserves. */
  inFlightTokens = 0;
  /** The last good scrape, if any; `fresh()` says whether it is still worth reading. */
  scraped: ScrapedLoad | undefined;
  /** How old a scrape may be and still count (the scraper sets it from its config). */
  staleAfterMs = Infinity;
  /** Block hash → true, in least-recently-sent order (a Map iterates in insertion order). */
  readonly #prefixes = new Map<number, true>();

  /** An attempt of `tokens` (prompt + output reserve) starts. */
  begin(tokens: number): void {
    this.inFlight++;
    this.inFlightTokens += tokens;
  }

  /** The attempt begun with `tokens` ended (whatever its outcome). */
  end(tokens: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.inFlightTokens = Math.max(0, this.inFlightTokens - tokens);
  }

  /** The scrape when it is younger than `staleAfterMs`, else undefined. */
  fresh(nowMs: number): ScrapedLoad | undefined {
    const s = this.scraped;
    return s !== undefined && nowMs - s.atMs <= this.staleAfterMs ? s : undefined;
  }

  /**
   * How many leading blocks of `blocks` (chained hashes: block i stands for the whole prefix up
   * to it) this deployment was sent recently, so is likely to hold in its prefix cache.
   */
  prefixMatch(blocks: readonly number[]): number {
    let n = 0;
    while (n < blocks.length && this.#prefixes.has(blocks[n]!)) n++;
    return n;
  }

  /** Remembers that `blocks` were sent here, forgetting the least recently sent beyond the bound. */
  rememberPrefix(blocks: readonly number[]): void {
    const m = this.#prefixes;
    // Deepest block first, so a prompt's leading blocks are the most recent and are forgotten
    // last (a server's LRU prefix cache also keeps the shared head longest).
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i]!;
      m.delete(b);
      m.set(b, true);
    }
    let excess = m.size - PREFIX_MEMORY_BLOCKS;
    if (excess <= 0) return;
    for (const key of m.keys()) {
      m.delete(key);
      if (--excess === 0) break;
    }
  }
}
