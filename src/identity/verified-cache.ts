/**
 * Tokens already verified, keyed by their SHA-256 digest (the token itself is never kept), so a
 * client that sends the same token on every request pays for one signature check. Bounded:
 * beyond `maxEntries` the oldest entry goes. An entry is never returned at or after its
 * `expiresAtMs` (the token's `exp`, with no leeway).
 */
export class VerifiedCache<T extends { readonly expiresAtMs: number }> {
  readonly #entries = new Map<string, T>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(digest: string, nowWallMs: number): T | undefined {
    const entry = this.#entries.get(digest);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= nowWallMs) {
      this.#entries.delete(digest);
      return undefined;
    }
    return entry;
  }

  set(digest: string, value: T, nowWallMs: number): void {
    if (this.#maxEntries === 0 || value.expiresAtMs <= nowWallMs) return;
    this.#entries.delete(digest);
    // Map iterates in insertion order: the first key is the oldest entry.
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(digest, value);
  }
}
