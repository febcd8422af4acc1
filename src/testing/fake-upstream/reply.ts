/**
 * Deterministic content for the fakes: reply text, its split into stream pieces, word-based
 * token counts and embedding vectors. Same input, same output, so tests can assert exact values.
 */

const WORD = /\S+/g;

/** Number of whitespace-separated words; the fakes' stand-in for a token count. */
export function countWords(text: string): number {
  return text.match(WORD)?.length ?? 0;
}

/** Cuts `text` after its `maxWords`-th word, keeping the original spacing before the cut. */
export function truncateWords(text: string, maxWords: number): { text: string; truncated: boolean } {
  let seen = 0;
  for (const match of text.matchAll(WORD)) {
    seen += 1;
    if (seen === maxWords) {
      const end = match.index + match[0].length;
      return { text: text.slice(0, end), truncated: end < text.trimEnd().length };
    }
  }
  return { text, truncated: false };
}

/** The default reply: names the fake and echoes the first words of the prompt. */
export function defaultReply(fakeName: string, prompt: string): string {
  const start = prompt.match(WORD)?.slice(0, 8).join(' ') ?? '';
  return start === '' ? `Hello from ${fakeName}.` : `Hello from ${fakeName}. You said: ${start}`;
}

/**
 * Splits `text` into `pieces` non-empty parts that concatenate back to it: at word boundaries
 * when there are enough words, else at code points (never inside a surrogate pair). Returns
 * fewer parts only when the text has fewer code points than `pieces`, and [""] for "".
 */
export function splitPieces(text: string, pieces: number): string[] {
  if (text === '') return [''];
  // Each unit is a word plus the whitespace after it, so joining the units restores the text.
  let units: string[] = text.match(/\s*\S+\s*/g) ?? [text];
  if (units.length < pieces) units = Array.from(text);
  const count = Math.min(pieces, units.length);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * units.length) / count);
    const to = Math.floor(((i + 1) * units.length) / count);
    out.push(units.slice(from, to).join(''));
  }
  return out;
}

/** FNV-1a over UTF-16 units: a stable 32-bit hash to seed per-text vectors. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A unit-length vector of `dimensions` values derived only from `text`. Values are rounded to
 * float32 so the float and base64 encodings of one vector decode to the same numbers.
 */
export function embeddingVector(text: string, dimensions: number): number[] {
  let state = hash32(text);
  const raw: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    // xorshift32: cheap, deterministic, good enough to make different texts differ.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    raw.push(state / 0x80000000 - 1);
  }
  const norm = Math.hypot(...raw) || 1;
  return raw.map((value) => Math.fround(value / norm));
}

/** Base64 of the vector as little-endian float32 bytes: OpenAI's `encoding_format: "base64"`. */
export function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}
