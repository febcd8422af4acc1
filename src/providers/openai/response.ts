import type { ChatCompletion, Usage, UsageRecord } from '../../api/chat-types.js';
import type { TextCompletion } from '../../api/completions-types.js';
import { toOpenAiUsage } from '../chunks.js';
import { countedUsage, type PromptTokens } from '../estimated-usage.js';
import { reportedModel } from '../reported-model.js';
import type { StreamedText } from '../streamed-text.js';
import { UpstreamProtocolError, type ResponseContext } from '../types.js';
import { isObject } from './error.js';

export type { PromptTokens };

/**
 * OpenAI's `usage` object as our record; when the provider sent none, counted with the
 * tokenizer (prompt and completion text) and marked estimated.
 */
export function usageRecord(usage: unknown, prompt: PromptTokens, completion: string | StreamedText): UsageRecord {
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
  return countedUsage(prompt, completion);
}

/**
 * The usage object a client sees: the provider's own (every field it sent is kept) with
 * `prompt_tokens_details.cached_tokens` and `completion_tokens_details.reasoning_tokens` always
 * present, so clients read cached and reasoning tokens the same way whatever served the request
 * (vLLM and older OpenAI-compatible servers omit the details). Without a usable provider usage,
 * our record (estimated) in OpenAI's shape.
 */
export function normalisedUsage(usage: unknown, record: UsageRecord): Usage {
  if (!isObject(usage) || typeof usage.prompt_tokens !== 'number') return toOpenAiUsage(record);
  const promptDetails = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completionDetails = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  return {
    ...usage,
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0,
    total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : usage.prompt_tokens + (typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0),
    prompt_tokens_details: { ...promptDetails, cached_tokens: record.cachedTokens },
    completion_tokens_details: { ...completionDetails, reasoning_tokens: record.reasoningTokens },
  };
}

/** Collects the text of every choice, for estimates when a provider reports no usage. */
function choicesText(choices: unknown[], read: (choice: Record<string, unknown>) => unknown): string {
  let text = '';
  for (const choice of choices) {
    const t = isObject(choice) ? read(choice) : undefined;
    if (typeof t === 'string') text += t;
  }
  return text;
}

export function openAiChatResponse(body: unknown, ctx: ResponseContext) {
  if (!isObject(body) || !Array.isArray(body.choices)) throw new UpstreamProtocolError('chat completion without a choices array');
  const completion = { ...body, model: ctx.model } as ChatCompletion;
  const text = choicesText(completion.choices, (c) => (isObject(c.message) ? c.message.content : undefined));
  const usage = usageRecord(body.usage, ctx, text);
  completion.usage = normalisedUsage(body.usage, usage);
  return { completion, usage, upstreamModel: reportedModel(body.model) };
}

export function openAiCompletionsResponse(body: unknown, ctx: ResponseContext) {
  if (!isObject(body) || !Array.isArray(body.choices)) throw new UpstreamProtocolError('text completion without a choices array');
  const completion = { ...body, model: ctx.model } as TextCompletion;
  const text = choicesText(completion.choices, (c) => c.text);
  const usage = usageRecord(body.usage, ctx, text);
  completion.usage = normalisedUsage(body.usage, usage);
  return { completion, usage, upstreamModel: reportedModel(body.model) };
}
