/**
 * Prompt prefixes, hashed in blocks, for prefix-aware routing. A server's prefix cache (vLLM's
 * automatic prefix caching) reuses the KV of a prompt's leading tokens in fixed blocks, so two
 * requests gain from sharing a deployment exactly as far as their prompts agree from the start.
 * Each block hash here chains every character before it (block i stands for the whole prefix up
 * to its end): equal hashes mean equal prefixes, and the longest shared prefix is the longest
 * run of equal leading hashes.
 */

/** Characters per block: about 64 tokens of English text (4 characters a token). */
export const PREFIX_BLOCK_CHARS = 256;
/** Blocks hashed at most (64 KiB of prompt): the cost per request is bounded whatever its size. */
export const MAX_PREFIX_BLOCKS = 256;

/** Feeds text in order and collects the chained hash at each block boundary (FNV-1a, 32 bits). */
export class PrefixHasher {
  readonly blocks: number[] = [];
  #hash = 0x811c9dc5;
  #inBlock = 0;

  #ended = false;

  /** True once MAX_PREFIX_BLOCKS are collected or `end()` was called: further input is ignored. */
  get full(): boolean {
    return this.#ended || this.blocks.length >= MAX_PREFIX_BLOCKS;
  }

  /** Nothing after this point is comparable (e.g. an image): the prefix ends here. */
  end(): void {
    this.#ended = true;
  }

  feed(text: string): void {
    if (this.#ended) return;
    const blocks = this.blocks;
    // Only as many characters as can still complete a block are read: the cap bounds the loop.
    const n = Math.min(text.length, (MAX_PREFIX_BLOCKS - blocks.length) * PREFIX_BLOCK_CHARS - this.#inBlock);
    // Kept as a signed 32-bit integer in the loop (a small integer to V8, never a heap number).
    let h = this.#hash | 0;
    let inBlock = this.#inBlock;
    for (let i = 0; i < n; i++) {
      h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
      if (++inBlock === PREFIX_BLOCK_CHARS) {
        blocks.push(h >>> 0);
        inBlock = 0;
      }
    }
    this.#hash = h;
    this.#inBlock = inBlock;
  }

  /** A separator between pieces (message boundaries), so ["ab", "c"] and ["a", "bc"] differ. */
  separate(): void {
    this.feed('\u0000');
  }
}

/** The prefix blocks of a chat conversation: each message's role and text, in order. */
export function messagesPrefixBlocks(messages: ReadonlyArray<{ readonly role: string; readonly content?: unknown }>): number[] {
  const h = new PrefixHasher();
  for (const m of messages) {
    if (h.full) break;
    h.feed(m.role);
    h.separate();
    const content = m.content;
    if (typeof content === 'string') h.feed(content);
    else if (Array.isArray(content)) {
      for (const part of content as ReadonlyArray<{ readonly type?: unknown; readonly text?: unknown }>) {
        if (h.full) break;
        // A non-text part (image, audio) ends the comparable prefix: two prompts with different
        // images must not look alike past it, and hashing its data would cost more than it saves.
        if (typeof part?.text === 'string') h.feed(part.text);
        else h.end();
      }
    }
    h.separate();
  }
  return h.blocks;
}

/** The prefix blocks of a plain prompt (legacy completions). */
export function textPrefixBlocks(text: string): number[] {
  const h = new PrefixHasher();
  h.feed(text);
  return h.blocks;
}
