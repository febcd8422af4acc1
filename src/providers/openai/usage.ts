import type { UsageRecord } from '../../api/chat-types.js';
import { estimateTextTokens } from '../../api/token-estimate.js';
import { isObject } from './error.js';

/** OpenAI's `usage` object as our record; estimated from the text when the provider sent none. */
export function usageRecord(usage: unknown, promptEstimate: number, completionText: string): UsageRecord {
  if (isObject(usage) && typeof usage.prompt_tokens === 'number') {
    const promptDetails = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
    const completionDetails = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
    return {
      promptTokens: usage.prompt_tokens,
      // Embeddings report prompt tokens only.
      completionTokens: typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0,
      cachedTokens: typeof promptDetails.cached_tokens === 'number' ? promptDetails.cached_tokens : 0,
      reasoningTokens: typeof completionDetails.reasoning_tokens === 'number' ? completionDetails.reasoning_tokens : 0,
      estimated: false,
    };
  }
  return { promptTokens: promptEstimate, completionTokens: estimateTextTokens(completionText), cachedTokens: 0, reasoningTokens: 0, estimated: true };
}
