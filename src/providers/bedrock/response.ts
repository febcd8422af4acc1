import type { ChatCompletion, FinishReason, ToolCall, UsageRecord } from '../../api/chat-types.js';
import { toOpenAiUsage } from '../chunks.js';
import { estimatedUsage } from '../estimated-usage.js';
import { UpstreamProtocolError, type ResponseContext } from '../types.js';
import { isObject } from './error.js';

/** Converse `stopReason` → OpenAI `finish_reason` (protocols.md §5.3, mapped like Anthropic's). */
export function finishReasonFor(stopReason: unknown): FinishReason {
  switch (stopReason) {
    case 'tool_use':
      return 'tool_calls';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      // end_turn, stop_sequence, and the malformed_* reasons (the model stopped; nothing better to say).
      return 'stop';
  }
}

/**
 * Converse `usage` → our record. Bedrock's `inputTokens` leaves out tokens read from or written
 * to the prompt cache, which OpenAI counts in `prompt_tokens`, so they are added back; cache
 * reads are OpenAI's `cached_tokens`. Returns undefined when the provider reported nothing usable.
 */
export function usageFrom(usage: unknown): UsageRecord | undefined {
  if (!isObject(usage) || typeof usage.inputTokens !== 'number' || typeof usage.outputTokens !== 'number') return undefined;
  const cacheRead = typeof usage.cacheReadInputTokens === 'number' ? usage.cacheReadInputTokens : 0;
  const cacheWrite = typeof usage.cacheWriteInputTokens === 'number' ? usage.cacheWriteInputTokens : 0;
  return {
    promptTokens: usage.inputTokens + cacheRead + cacheWrite,
    completionTokens: usage.outputTokens,
    cachedTokens: cacheRead,
    // Priced apart from plain input (Claude's cache writes cost 1.25× input): spend/price.ts.
    cacheWriteTokens: cacheWrite,
    reasoningTokens: 0,
    estimated: false,
  };
}

/** A Converse response → our completion. Reasoning text goes to `reasoning_content` (vLLM's field name). */
export function bedrockChatResponse(body: unknown, ctx: ResponseContext): { completion: ChatCompletion; usage: UsageRecord } {
  const message = isObject(body) && isObject(body.output) && isObject(body.output.message) ? body.output.message : undefined;
  if (!message || !Array.isArray(message.content)) throw new UpstreamProtocolError('Converse response without output.message.content');
  let text = '';
  let sawText = false;
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  for (const block of message.content as unknown[]) {
    if (!isObject(block)) throw new UpstreamProtocolError('Converse content block is not an object');
    if (typeof block.text === 'string') {
      text += block.text;
      sawText = true;
    } else if (isObject(block.toolUse)) {
      const use = block.toolUse;
      if (typeof use.toolUseId !== 'string' || typeof use.name !== 'string') throw new UpstreamProtocolError('Converse toolUse block without toolUseId and name');
      toolCalls.push({ id: use.toolUseId, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
    } else if (isObject(block.reasoningContent) && isObject(block.reasoningContent.reasoningText)) {
      const r = block.reasoningContent.reasoningText.text;
      if (typeof r === 'string') reasoning += r;
    }
    // Other blocks (redacted reasoning, citations, guard content) have no OpenAI counterpart.
  }
  const stopReason = isObject(body) ? body.stopReason : undefined;
  const finish = toolCalls.length > 0 && stopReason === undefined ? 'tool_calls' : finishReasonFor(stopReason);
  const usage = usageFrom(isObject(body) ? body.usage : undefined) ?? estimatedUsage(ctx, text + reasoning + toolCalls.map((c) => c.function.arguments).join(''));
  const msg: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: sawText ? text : null, refusal: null };
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  if (reasoning !== '') msg.reasoning_content = reasoning;
  const completion: ChatCompletion = {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message: msg, logprobs: null, finish_reason: finish }],
    usage: toOpenAiUsage(usage),
  };
  return { completion, usage };
}
