import type { UsageRecord } from '../api/chat-types.js';
import { estimateTextTokens } from '../api/token-estimate.js';
import type { ResponseContext } from './types.js';

/**
 * Usage for a response whose provider reported none: the prompt estimate the pipeline made and
 * the completion text estimated by length (no tokenizer), marked estimated. Used by the
 * translators of providers that normally report usage (Gemini, Ollama, Bedrock, Anthropic);
 * OpenAI-protocol and Triton deployments count with the tokenizer instead (see openai/usage.ts).
 */
export function estimatedUsage(ctx: ResponseContext, completionText: string): UsageRecord {
  return { promptTokens: ctx.promptTokensEstimate, completionTokens: estimateTextTokens(completionText), cachedTokens: 0, reasoningTokens: 0, estimated: true };
}
