import type { ChatChunk, ChunkChoice, FinishReason, Usage, UsageRecord } from '../api/chat-types.js';
import type { OpenAiErrorType } from '../errors/catalog.js';
import type { ResponseContext } from './types.js';

/** Builders for the OpenAI chunks that translators of non-OpenAI protocols emit. */

export function roleChunk(ctx: ResponseContext, content: string): ChatChunk {
  return deltaChunk(ctx, { role: 'assistant', content }, null);
}

export function contentChunk(ctx: ResponseContext, content: string): ChatChunk {
  return deltaChunk(ctx, { content }, null);
}

export function finishChunk(ctx: ResponseContext, reason: FinishReason): ChatChunk {
  return deltaChunk(ctx, {}, reason);
}

/** The `choices: []` chunk that carries usage, sent only when the client asked for it. */
export function usageChunk(ctx: ResponseContext, usage: UsageRecord): ChatChunk {
  return { id: ctx.id, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model, choices: [], usage: toOpenAiUsage(usage) };
}

/** A chunk with one choice carrying `delta` (a tool-call or reasoning delta, or any other). */
export function deltaChunk(ctx: ResponseContext, delta: ChunkChoice['delta'], finish: FinishReason | null = null, index = 0): ChatChunk {
  return {
    id: ctx.id,
    object: 'chat.completion.chunk',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index, delta, logprobs: null, finish_reason: finish }],
  };
}

export function toOpenAiUsage(u: UsageRecord): Usage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}

/** The OpenAI error `type` a status implies when the upstream gave none we recognise. */
export function errorTypeForStatus(status: number): OpenAiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 408 || status === 504) return 'timeout_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}
