import type { UsageRecord } from '../api/chat-types.js';

/**
 * Most tokens one request's reported usage may claim (prompt + completion). Nothing a request
 * can ask for comes near it (2,048 prompts, 1M token ids, 8 choices of up to 1M tokens are all
 * capped at parse), so a larger figure is a broken or hostile upstream, not a real bill.
 */
export const maxUsageTokensPerRequest = 10_000_000;

/** What admission reserved for the request (operations.ts): prompt estimate and output reserve. */
export interface Reservation {
  readonly promptTokens: number;
  readonly outputTokens: number;
}

const isCount = (v: number | undefined): boolean => v === undefined || (Number.isSafeInteger(v) && v >= 0);

/**
 * The usage the gateway charges and reports, whatever provider produced it: the one check
 * between every adapter's usage parsing and the token limits, metrics and logs. A record with
 * any count that is not a finite non-negative integer, or claiming more than
 * `maxUsageTokensPerRequest`, is not believed: it is replaced by the reservation (the estimate
 * the request was admitted on) and marked estimated, so it is counted in
 * `gateway_usage_estimated_total`. `prompt_tokens: 1e300` once put a tenant in debt for ever.
 */
export function saneUsage(usage: UsageRecord, reserved: Reservation): UsageRecord {
  const sane =
    isCount(usage.promptTokens) &&
    isCount(usage.completionTokens) &&
    isCount(usage.cachedTokens) &&
    isCount(usage.reasoningTokens) &&
    isCount(usage.cacheWriteTokens) &&
    usage.promptTokens + usage.completionTokens <= maxUsageTokensPerRequest;
  if (sane) return usage;
  return { promptTokens: reserved.promptTokens, completionTokens: reserved.outputTokens, cachedTokens: 0, reasoningTokens: 0, estimated: true };
}
