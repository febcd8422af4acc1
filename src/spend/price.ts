import type { UsageRecord } from '../api/chat-types.js';
import { perMillionToPicoPerToken } from './money.js';

/**
 * What one model costs, in whole picodollars per token (money.ts). Cached input, cache writes
 * and reasoning default to the input and output prices when a provider bills them the same.
 */
export interface Price {
  /** Uncached prompt tokens. */
  readonly input: number;
  /** Completion tokens (reasoning tokens included unless `reasoning` is set). */
  readonly output: number;
  /** Prompt tokens read from the provider's prompt cache (OpenAI cached_tokens, Anthropic cache reads). */
  readonly cachedInput?: number;
  /** Prompt tokens written to the prompt cache (Anthropic, Bedrock cache writes). */
  readonly cacheWrite?: number;
  /** Reasoning tokens, when billed apart from other output. */
  readonly reasoning?: number;
}

/** A price as people write it: US dollars per million tokens (config `price`, the catalogue). */
export interface PricePerMillion {
  readonly input: string | number;
  readonly output: string | number;
  readonly cachedInput?: string | number | undefined;
  readonly cacheWrite?: string | number | undefined;
  readonly reasoning?: string | number | undefined;
}

/** Dollars per million tokens → picodollars per token; throws RangeError on an inexact price. */
export function priceFromPerMillion(p: PricePerMillion): Price {
  const opt = (v: string | number | undefined): number | undefined => (v === undefined ? undefined : perMillionToPicoPerToken(v));
  const cachedInput = opt(p.cachedInput);
  const cacheWrite = opt(p.cacheWrite);
  const reasoning = opt(p.reasoning);
  return {
    input: perMillionToPicoPerToken(p.input),
    output: perMillionToPicoPerToken(p.output),
    ...(cachedInput === undefined ? {} : { cachedInput }),
    ...(cacheWrite === undefined ? {} : { cacheWrite }),
    ...(reasoning === undefined ? {} : { reasoning }),
  };
}

/**
 * A request's cost in picodollars, from its usage: prompt tokens split into uncached, cache
 * reads and cache writes (both are part of `promptTokens`, as everywhere in the gateway), and
 * completion tokens into reasoning and the rest. Counts that do not add up (a cache figure
 * above the prompt) are clamped so the bill never goes negative. Exact integer arithmetic.
 */
export function costOf(usage: UsageRecord, price: Price): number {
  const prompt = usage.promptTokens;
  const cached = Math.min(usage.cachedTokens, prompt);
  const written = Math.min(usage.cacheWriteTokens ?? 0, prompt - cached);
  const reasoning = Math.min(usage.reasoningTokens, usage.completionTokens);
  return safeAmount(
    (prompt - cached - written) * price.input +
      cached * (price.cachedInput ?? price.input) +
      written * (price.cacheWrite ?? price.input) +
      (usage.completionTokens - reasoning) * price.output +
      reasoning * (price.reasoning ?? price.output),
  );
}

/**
 * The most a request can cost before it is sent: the prompt estimate at the dearest input rate
 * (a cache write can cost more than plain input) and the whole output reserve at the dearest
 * output rate. What budgets reserve at admission.
 */
export function worstCaseCost(promptTokens: number, outputTokens: number, price: Price): number {
  const input = Math.max(price.input, price.cacheWrite ?? 0, price.cachedInput ?? 0);
  const output = Math.max(price.output, price.reasoning ?? 0);
  return safeAmount(promptTokens * input + outputTokens * output);
}

/**
 * Caps an amount at 2⁵³ − 1 pUSD (about $9,007), where every ledger's exact arithmetic ends. Only
 * a configured price of hundreds of dollars per million tokens times millions of tokens gets
 * there: the request is charged (and reserves) $9,007, more than any budget such a cost would fit,
 * instead of a float that the ledgers refuse (a settle that charged nothing and held its
 * reservation to expiry; a reserve that failed the request with a 500).
 */
function safeAmount(pico: number): number {
  return Math.min(pico, Number.MAX_SAFE_INTEGER);
}
