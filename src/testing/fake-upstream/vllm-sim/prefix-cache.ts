/**
 * The simulator's prefix cache: an LRU over chained block hashes, `capacity` blocks in all.
 * Blocks of running sequences are pinned (they count as used and are never evicted); when a
 * sequence ends its blocks become evictable, most recently used last. When pinned blocks fill
 * the cache, further blocks of a prompt are simply not cached.
 */
export class PrefixCache {
  readonly capacity: number;
  /** Pinned block → number of running sequences holding it. */
  readonly #pinned = new Map<number, number>();
  /** Evictable blocks, least recently used first (a Set keeps insertion order). */
  readonly #free = new Set<number>();

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Blocks held (pinned and evictable). */
  get size(): number {
    return this.#pinned.size + this.#free.size;
  }

  /** Leading blocks of `hashes` present, refreshing the evictable ones it touched. */
  match(hashes: readonly number[]): number {
    let hits = 0;
    for (const hash of hashes) {
      if (this.#free.has(hash)) {
        this.#free.delete(hash);
        this.#free.add(hash);
      } else if (!this.#pinned.has(hash)) break;
      hits++;
    }
    return hits;
  }

  /**
   * Pins the leading blocks of `hashes` that fit (present ones always fit); returns them, to be
   * given back to `unpin` when the sequence ends.
   */
  pin(hashes: readonly number[]): number[] {
    const pinned: number[] = [];
    for (const hash of hashes) {
      const refs = this.#pinned.get(hash);
      if (refs !== undefined) this.#pinned.set(hash, refs + 1);
      else if (this.#free.delete(hash)) this.#pinned.set(hash, 1);
      else {
        if (this.size >= this.capacity) this.#evictOne();
        // A chained hash is useless without its predecessor: stop at the first that does not fit.
        if (this.size >= this.capacity) break;
        this.#pinned.set(hash, 1);
      }
      pinned.push(hash);
    }
    return pinned;
  }

  unpin(hashes: readonly number[]): void {
    for (const hash of hashes) {
      const refs = this.#pinned.get(hash);
      if (refs === undefined) continue;
      if (refs > 1) this.#pinned.set(hash, refs - 1);
      else {
        this.#pinned.delete(hash);
        this.#free.add(hash);
      }
    }
  }

  #evictOne(): void {
    const oldest = this.#free.values().next();
    if (!oldest.done) this.#free.delete(oldest.value);
  }
}
