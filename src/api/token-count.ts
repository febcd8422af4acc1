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
 * js-tiktoken's byte-pair merge is super-linear in the UTF-8 length of one pre-token: 1,000
 * repeated letters take a large fraction of a second, 16,000 take minutes. Runs of non-space
 * (or space) characters longer than `maxRun`, and runs of non-ASCII letters longer than
 * `maxWideRun` (3 UTF-8 bytes each for CJK, so 16 of them cost ~10× 16 ASCII letters), are
 * counted in pieces of at most `maxPieceBytes` UTF-8 bytes, which bounds the work per piece and
 * changes nothing for words of ordinary length.
 */
const maxRun = 16;
const maxWideRun = 5;
const maxPieceBytes = 16;
const longRun = new RegExp(`\\S{${maxRun + 1},}|\\s{${maxRun + 1},}|[^\\s\\x00-\\x7f]{${maxWideRun + 1},}`, 'gu');

/**
 * The synchronous work of one count (one request's prompt, or one response's text) is bounded
 * whatever the input (issue 9 §2: a 10 MB prompt in 16K-character messages blocked the event
 * loop for 26 s when every message was counted up to its own cap). The texts are cut into
 * windows of `windowChars`, visited in an order that spreads any prefix of it over the whole
 * input; counting stops once `maxCountedChars` characters or `maxEncodeCalls` tokenizer calls are
 * spent, and the rest is extrapolated from the tokens per character counted. The call cap matters
 * as much as the character cap: each tokenizer call has a fixed set-up cost in js-tiktoken, so
 * many short pieces cost more than one long one (numbers in bench/analysis.md;
 * token-count.test.ts and bench/micro/event-loop-10mb.mjs check the bound).
 */
export const maxCountedChars = 16 * 1024;
const maxEncodeCalls = 256;
const windowChars = 1024;

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

/** UTF-8 length of one UTF-16 unit (a surrogate counts 2, so a pair counts 4). */
function unitBytes(code: number): number {
  return code < 0x80 ? 1 : code < 0x800 || (code >= 0xd800 && code < 0xe000) ? 2 : 3;
}

interface Budget {
  calls: number;
}

function encodeLength(enc: Tiktoken, text: string, budget: Budget): number {
  budget.calls += 1;
  // Special-token text such as "<|endoftext|>" in user input is counted as ordinary text,
  // never rejected (the default would throw).
  return text === '' ? 0 : enc.encode(text, [], []).length;
}

/** A long run in pieces of at most maxRun units and maxPieceBytes bytes (never splitting a surrogate pair). */
function countRun(enc: Tiktoken, run: string, budget: Budget): number {
  let total = 0;
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < run.length; i += 1) {
    const code = run.charCodeAt(i);
    const isLowSurrogate = code >= 0xdc00 && code < 0xe000;
    const size = unitBytes(code);
    if (i > start && !isLowSurrogate && (i - start >= maxRun || bytes + size > maxPieceBytes)) {
      total += encodeLength(enc, run.slice(start, i), budget);
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  return total + encodeLength(enc, run.slice(start), budget);
}

/** cl100k_base tokens of one window (at most windowChars), with the piece limit. */
function countWindow(enc: Tiktoken, text: string, budget: Budget): number {
  let total = 0;
  let last = 0;
  for (const run of text.matchAll(longRun)) {
    total += encodeLength(enc, text.slice(last, run.index), budget);
    total += countRun(enc, run[0], budget);
    last = run.index + run[0].length;
  }
  return total + encodeLength(enc, text.slice(last), budget);
}

/** `k` with its lowest `bits` bits reversed: 0, 4, 2, 6, 1, 5, 3, 7 for bits = 3. */
function bitReversed(k: number, bits: number): number {
  let r = 0;
  for (let b = 0; b < bits; b += 1) r |= ((k >> b) & 1) << (bits - 1 - b);
  return r;
}

/**
 * cl100k_base tokens in all of `texts` together, with bounded work (see maxCountedChars): exact
 * for short input (a text that fits one window is counted as the tokenizer counts it; longer
 * ones are cut at window edges, which moves a count by about one token per window), sampled and
 * extrapolated past the budget.
 *
 * `totalChars`: the texts are the retained start of a longer text of this many characters (a
 * stream's text is kept only up to maxCountedChars; see StreamedText); the count is
 * extrapolated to it.
 */
export function countTextsTokens(texts: readonly string[], totalChars?: number): number {
  // Windows never straddle two texts (each text starts a new one): window w is
  // texts[windowText[w]] from windowStart[w].
  const windowText: number[] = [];
  const windowStart: number[] = [];
  let chars = 0;
  for (let t = 0; t < texts.length; t += 1) {
    const length = texts[t]?.length ?? 0;
    chars += length;
    for (let start = 0; start < length; start += windowChars) {
      windowText.push(t);
      windowStart.push(start);
    }
  }
  if (chars === 0) return 0;

  const enc = tokenizer();
  const budget: Budget = { calls: 0 };
  const windows = windowText.length;
  const slots = 2 ** Math.ceil(Math.log2(windows));
  const visited = new Uint8Array(windows);
  let tokens = 0;
  let counted = 0;
  for (let k = 0; k < slots; k += 1) {
    // Slot k's fraction of the way through the input, in bit-reversed order: every prefix of
    // the visits is spread evenly over the whole input, and every window is reached.
    const w = Math.floor((bitReversed(k, Math.log2(slots)) * windows) / slots);
    if (visited[w] === 1) continue;
    visited[w] = 1;
    const text = texts[windowText[w] ?? 0] ?? '';
    const start = windowStart[w] ?? 0;
    const window = text.slice(start, start + windowChars);
    tokens += countWindow(enc, window, budget);
    counted += window.length;
    if (counted >= maxCountedChars || budget.calls >= maxEncodeCalls) break;
  }
  const whole = Math.max(totalChars ?? chars, chars);
  return whole === counted ? tokens : Math.ceil((tokens * whole) / counted);
}

/** cl100k_base tokens in `text` (bounded work for any input; see countTextsTokens). */
export function countTokens(text: string): number {
  return countTextsTokens([text]);
}

/** Chat prompt tokens, OpenAI cookbook framing: 3 per message (+1 with a name), +3 to prime the reply. */
export function countPromptTokens(messages: readonly ChatMessage[]): number {
  let total = 3;
  const texts: string[] = [];
  for (const m of messages) {
    total += 3;
    if (m.name !== undefined) total += 1;
    texts.push(messageText(m));
  }
  return total + countTextsTokens(texts);
}
