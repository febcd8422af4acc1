import type { UsageRecord } from '../api/chat-types.js';
import { countTokens } from '../api/token-count.js';
import { estimateTextTokens } from '../api/token-estimate.js';
import type { StreamedText } from './streamed-text.js';
import type { ResponseContext } from './types.js';

/**
 * Usage for a response whose provider reported none: the prompt estimate the pipeline made and
 * the completion text estimated by length (no tokenizer), marked estimated. Used by the
 * translators of providers that normally report usage (Gemini, Ollama, Bedrock, Anthropic);
 * OpenAI-protocol and Triton deployments count with the tokenizer instead (`countedUsage`).
 */
export function estimatedUsage(ctx: ResponseContext, completionText: string): UsageRecord {
  return { promptTokens: ctx.promptTokensEstimate, completionTokens: estimateTextTokens(completionText), cachedTokens: 0, reasoningTokens: 0, estimated: true };
}

/** What a counted prompt needs: the cheap admission figure, or a tokenizer count when loaded. */
export type PromptTokens = Pick<ResponseContext, 'promptTokensEstimate' | 'countPromptTokens'>;

/**
 * Usage for a response whose provider reported none, counted with the tokenizer (prompt when the
 * pipeline offers a count, completion text always) and marked estimated: OpenAI-protocol servers
 * that send no usage, and Triton, which never does. A stream passes its StreamedText (the start
 * of its text and its length) rather than all of it.
 */
export function countedUsage(prompt: PromptTokens, completion: string | StreamedText): UsageRecord {
  const completionTokens = typeof completion === 'string' ? countTokens(completion) : completion.countTokens();
  return { promptTokens: prompt.countPromptTokens?.() ?? prompt.promptTokensEstimate, completionTokens, cachedTokens: 0, reasoningTokens: 0, estimated: true };
}
