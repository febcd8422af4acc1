import { isRecord } from '../../../is-record.js';
import { BLOCK_TOKENS } from './params.js';

/**
 * The simulator's tokenizer: deterministic and cheap, not a real one. A chat prompt is its
 * messages rendered as `<|role|>\n` + text + `\n`, concatenated; a completion prompt is its text.
 * Every CHARS_PER_TOKEN characters (UTF-16 units) are one token, at least one token a prompt.
 * Prefix-cache blocks are BLOCK_TOKENS tokens (64 characters), hashed with 32-bit FNV-1a chained
 * over the previous block's hash, so equal hashes mean equal prefixes (up to collisions).
 */
export const CHARS_PER_TOKEN = 4;

const BLOCK_CHARS = CHARS_PER_TOKEN * BLOCK_TOKENS;

/** The text of a message's `content`: a string, or the text parts of an array. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (isRecord(part) && typeof part['text'] === 'string' ? part['text'] : '')).join('');
}

/** The prompt text of chat messages, with role markers (messages already checked to be records). */
export function chatPromptText(messages: ReadonlyArray<Record<string, unknown>>): string {
  return messages.map((m) => `<|${String(m['role'])}|>\n${contentText(m['content'])}\n`).join('');
}

export function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}

/**
 * Chained hashes of the prompt's full blocks that a cache may serve. Like vLLM, the last prompt
 * token is always computed, so a block reaching it is never a hit: only blocks within the first
 * `tokens - 1` tokens count.
 */
export function promptBlockHashes(text: string): number[] {
  const blocks = Math.floor((countTokens(text) - 1) / BLOCK_TOKENS);
  const hashes: number[] = [];
  let hash = 0x811c9dc5;
  for (let b = 0; b < blocks; b++) {
    for (let i = b * BLOCK_CHARS; i < (b + 1) * BLOCK_CHARS; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    hashes.push(hash);
  }
  return hashes;
}

const WORDS = ['The ', 'sim ', 'says', ' hi.'];

/** The text of generated token `index` (one CHARS_PER_TOKEN-character piece each). */
export function outputToken(index: number): string {
  return WORDS[index % WORDS.length] as string;
}
