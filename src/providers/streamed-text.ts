import { countTextsTokens, maxCountedChars } from '../api/token-count.js';

/**
 * The text a stream has carried, kept only as far as a token count reads it (its start, up to
 * maxCountedChars) plus its full length: counting extrapolates from the start to the length,
 * so nothing more is needed, and a long or hostile stream holds a bounded amount of memory
 * (issue 9 §2: a 300 MB Triton stream held all of it, +425 MB RSS).
 */
export class StreamedText {
  #kept = '';
  #length = 0;

  add(delta: string): void {
    this.#length += delta.length;
    const room = maxCountedChars - this.#kept.length;
    if (room > 0) this.#kept += delta.length <= room ? delta : delta.slice(0, room);
  }

  /** Characters (UTF-16 units) streamed so far. */
  get length(): number {
    return this.#length;
  }

  /** cl100k_base tokens of everything streamed (see countTextsTokens). */
  countTokens(): number {
    return countTextsTokens([this.#kept], this.#length);
  }
}
