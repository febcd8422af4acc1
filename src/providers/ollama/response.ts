import type { ChatCompletion, FinishReason, ToolCall, UsageRecord } from '../../api/chat-types.js';
import { estimateTextTokens } from '../../api/token-estimate.js';
import { toOpenAiUsage } from '../chunks.js';
import { isRecord, toolCallId } from '../translate-helpers.js';
import { UpstreamProtocolError, type ResponseContext } from '../types.js';
import type { OllamaChatResponse, OllamaToolCall } from './wire.js';

/** Ollama `done_reason` → OpenAI `finish_reason`; a reply that calls tools finishes with tool_calls. */
export function finishReason(doneReason: string | undefined, calledTools: boolean): FinishReason {
  if (doneReason === 'length') return 'length';
  return calledTools ? 'tool_calls' : 'stop';
}

/**
 * `prompt_eval_count` / `eval_count` as our usage. Ollama leaves `prompt_eval_count` out when the
 * whole prompt came from its cache, so the prompt is then estimated (and the record marked so);
 * without `eval_count` everything is estimated from the streamed text.
 */
export function usageOf(res: OllamaChatResponse, ctx: ResponseContext, text: string): UsageRecord {
  const completion = typeof res.eval_count === 'number' ? res.eval_count : undefined;
  const prompt = typeof res.prompt_eval_count === 'number' ? res.prompt_eval_count : undefined;
  return {
    promptTokens: prompt ?? ctx.promptTokensEstimate,
    completionTokens: completion ?? estimateTextTokens(text),
    cachedTokens: 0,
    reasoningTokens: 0,
    estimated: prompt === undefined || completion === undefined,
  };
}

/** Validates one `/api/chat` object (a whole body, or one NDJSON line). */
export function asOllamaResponse(body: unknown): OllamaChatResponse {
  if (!isRecord(body) || typeof body['done'] !== 'boolean') throw new UpstreamProtocolError('Ollama chat response without a boolean done');
  if (body['message'] !== undefined && !isRecord(body['message'])) throw new UpstreamProtocolError('Ollama message is not an object');
  return body as unknown as OllamaChatResponse;
}

/** Ollama tool calls (object arguments, no ids) as OpenAI's (string arguments, generated ids). */
export function toolCalls(calls: unknown, ctx: ResponseContext, firstNumber: number): ToolCall[] {
  if (calls === undefined || calls === null) return [];
  if (!Array.isArray(calls)) throw new UpstreamProtocolError('Ollama tool_calls is not an array');
  return calls.map((c: unknown, i) => {
    const fn = isRecord(c) && isRecord(c['function']) ? (c['function'] as OllamaToolCall['function']) : undefined;
    if (fn === undefined || typeof fn.name !== 'string') throw new UpstreamProtocolError('Ollama tool call without a function name');
    const args = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {});
    return { id: toolCallId(ctx.id, firstNumber + i), type: 'function', function: { name: fn.name, arguments: args } };
  });
}

/** A `stream:false` answer as our completion. Throws UpstreamProtocolError. */
export function ollamaChatResponse(body: unknown, ctx: ResponseContext): { completion: ChatCompletion; usage: UsageRecord } {
  const res = asOllamaResponse(body);
  if (!res.done) throw new UpstreamProtocolError('Ollama answered stream:false with done:false');
  const text = typeof res.message?.content === 'string' ? res.message.content : '';
  const calls = toolCalls(res.message?.tool_calls, ctx, 0);
  const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: calls.length > 0 && text === '' ? null : text, refusal: null };
  if (calls.length > 0) message.tool_calls = calls;
  const usage = usageOf(res, ctx, text);
  const completion: ChatCompletion = {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(res.done_reason, calls.length > 0) }],
    usage: toOpenAiUsage(usage),
  };
  return { completion, usage };
}
