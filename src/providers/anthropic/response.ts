import type { ChatCompletion, FinishReason, ToolCall, UsageRecord } from '../../api/chat-types.js';
import { toOpenAiUsage } from '../chunks.js';
import { estimatedUsage } from '../estimated-usage.js';
import { reportedModel } from '../reported-model.js';
import { UpstreamProtocolError, type ResponseContext } from '../types.js';
import { isObject, type AnthropicMessage } from './wire.js';

/** Anthropic `stop_reason` → OpenAI `finish_reason` (protocols.md §2.7); unknown reasons read as `stop`. */
export function finishReasonFor(stopReason: unknown): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

/**
 * Anthropic usage → our record. `input_tokens` excludes cached tokens, so the prompt is the sum
 * of input, cache reads and cache writes; cache reads are the `cached` share of it.
 */
export function anthropicUsageRecord(usage: Record<string, unknown>): UsageRecord {
  const read = count(usage.cache_read_input_tokens);
  const write = count(usage.cache_creation_input_tokens);
  return {
    promptTokens: count(usage.input_tokens) + read + write,
    completionTokens: count(usage.output_tokens),
    cachedTokens: read,
    cacheWriteTokens: write,
    reasoningTokens: 0,
    estimated: false,
  };
}

/** Checks the body is an Anthropic message; throws UpstreamProtocolError. */
export function asMessage(body: unknown): AnthropicMessage {
  if (!isObject(body) || body.type !== 'message' || !Array.isArray(body.content)) {
    throw new UpstreamProtocolError('Anthropic response is not a message with a content array');
  }
  return body as AnthropicMessage;
}

/** A complete Anthropic message → an OpenAI chat completion and its usage. */
export function messageToCompletion(body: unknown, ctx: ResponseContext): { completion: ChatCompletion; usage: UsageRecord; upstreamModel: string | undefined } {
  const msg = asMessage(body);
  let text = '';
  let thinking = '';
  let hasText = false;
  const toolCalls: ToolCall[] = [];
  for (const block of msg.content) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') {
      text += block.text;
      hasText = true;
    } else if (block.type === 'tool_use' && typeof block.id === 'string' && typeof block.name === 'string') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    } else if (block.type === 'thinking' && typeof block.thinking === 'string') {
      thinking += block.thinking;
    }
  }
  const usage = isObject(msg.usage) ? anthropicUsageRecord(msg.usage) : estimatedUsage(ctx, text);
  const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: hasText ? text : null, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  // vLLM's and several gateways' field for reasoning text; OpenAI clients ignore it.
  if (thinking !== '') message.reasoning_content = thinking;
  const completion: ChatCompletion = {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonFor(msg.stop_reason) }],
    usage: toOpenAiUsage(usage),
  };
  return { completion, usage, upstreamModel: reportedModel(msg.model) };
}
