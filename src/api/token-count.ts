import type { Tiktoken } from 'js-tiktoken/lite';
import { tiktoken } from '../lazy-packages.js';
import type { ChatMessage } from './chat-types.js';
import { messageText } from './token-estimate.js';

/**
 * Token counts with a real tokenizer, for providers that report no usage (Triton). Figures from
 * here are still marked `estimated`: the served model's own tokenizer may differ.
 *
 * Why cl100k_base: Llama-3-family models (what Triton/TensorRT-LLM usually serves) use a
 * tokenizer built on cl100k_base's 100k ranks, so it is the closest shipped approximation; it
 * also costs half the memory of o200k (≈35 MB heap against ≈70 MB) and loads twice as fast.
 * Only `js-tiktoken/lite` and this one rank file are loaded, once, on first use (or at start-up
 * through `warmTokenizer` when a deployment needs it), so gateways without such a deployment
 * never pay for it.
 *
 * Not used at admission: that estimate is on every request's hot path and is reconciled with
 * the real figure anyway, so it stays the O(bytes) rule in token-estimate.ts.
 */

let encoder: Tiktoken | undefined;

/**
 * js-tiktoken's byte-pair merge is super-linear in the length of one pre-token: 1,000 repeated
 * letters take a large fraction of a second, 16,000 take minutes. Runs of non-space (or space) characters
 * longer than this are counted in slices of this length, which bounds the work per slice and
 * changes nothing for words of ordinary length.
 */
const maxRun = 16;
const longRun = new RegExp(`\\S{${maxRun + 1},}|\\s{${maxRun + 1},}`, 'gu');
/** Text past this many UTF-16 units is extrapolated from the part counted exactly. */
const maxCountedChars = 16 * 1024;

/** Loads the tokenizer now (≈0.5–1 s of CPU once), so the first request does not pay for it. */
export function warmTokenizer(): void {
  tokenizer();
}

function tokenizer(): Tiktoken {
  if (encoder === undefined) {
    const { Tiktoken: TiktokenClass, ranks } = tiktoken();
    encoder = new TiktokenClass(ranks);
  }
  return encoder;
}

function encodeLength(enc: Tiktoken, text: string): number {
  // Special-token text such as "<|endoftext|>" in user input is counted as ordinary text,
  // never rejected (the default would throw).
  return text === '' ? 0 : enc.encode(text, [], []).length;
}

/** cl100k_base tokens in `text` (bounded work for any input; see maxRun and maxCountedChars). */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  const enc = tokenizer();
  const counted = text.length > maxCountedChars ? text.slice(0, maxCountedChars) : text;
  let total = 0;
  let last = 0;
  for (const run of counted.matchAll(longRun)) {
    total += encodeLength(enc, counted.slice(last, run.index));
    for (let i = 0; i < run[0].length; i += maxRun) total += encodeLength(enc, run[0].slice(i, i + maxRun));
    last = run.index + run[0].length;
  }
  total += encodeLength(enc, counted.slice(last));
  if (counted.length === text.length) return total;
  return Math.ceil((total * text.length) / counted.length);
}

/** Chat prompt tokens, OpenAI cookbook framing: 3 per message (+1 with a name), +3 to prime the reply. */
export function countPromptTokens(messages: readonly ChatMessage[]): number {
  let total = 3;
  for (const m of messages) {
    total += 3 + countTokens(messageText(m));
    if (m.name !== undefined) total += 1;
  }
  return total;
}
