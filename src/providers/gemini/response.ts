import type { ChatCompletion, FinishReason, ToolCall, UsageRecord } from '../../api/chat-types.js';
import { toOpenAiUsage } from '../chunks.js';
import { estimatedUsage } from '../estimated-usage.js';
import { reportedModel } from '../reported-model.js';
import { isRecord } from '../translate-helpers.js';
import { UpstreamProtocolError, type ResponseContext } from '../types.js';
import { geminiToolCallId, type GeminiCandidate, type GeminiPart, type GeminiResponse, type GeminiUsageMetadata } from './wire.js';

/** Gemini `finishReason` → OpenAI `finish_reason` (protocols.md §5.2); function calls win over STOP. */
export function finishReason(reason: string | undefined, calledTools: boolean): FinishReason {
  switch (reason) {
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
    case 'IMAGE_PROHIBITED_CONTENT':
      return 'content_filter';
    default:
      // STOP, MALFORMED_FUNCTION_CALL, OTHER, LANGUAGE, …: the model stopped.
      return calledTools ? 'tool_calls' : 'stop';
  }
}

/**
 * Gemini usage as ours: thoughts are reasoning tokens and, as in OpenAI's accounting, part of
 * the completion; tool-use prompt tokens are prompt tokens. Undefined when Gemini sent none.
 */
export function usageFromMetadata(meta: GeminiUsageMetadata | undefined): UsageRecord | undefined {
  if (meta === undefined || typeof meta.promptTokenCount !== 'number') return undefined;
  const thoughts = meta.thoughtsTokenCount ?? 0;
  return {
    promptTokens: meta.promptTokenCount + (meta.toolUsePromptTokenCount ?? 0),
    completionTokens: (meta.candidatesTokenCount ?? 0) + thoughts,
    cachedTokens: meta.cachedContentTokenCount ?? 0,
    reasoningTokens: thoughts,
    estimated: false,
  };
}

/** Validates the shape of one GenerateContentResponse (a whole body or one stream event). */
export function asGeminiResponse(body: unknown): GeminiResponse {
  if (!isRecord(body)) throw new UpstreamProtocolError('Gemini response is not a JSON object');
  if (body['candidates'] !== undefined && !Array.isArray(body['candidates'])) throw new UpstreamProtocolError('Gemini candidates is not an array');
  if (body['candidates'] === undefined && !isRecord(body['promptFeedback']) && !isRecord(body['usageMetadata'])) {
    throw new UpstreamProtocolError('Gemini response without candidates, promptFeedback or usageMetadata');
  }
  return body as GeminiResponse;
}

/** The answer parts of a candidate (thought summaries are not part of the answer). */
export function answerParts(candidate: GeminiCandidate): GeminiPart[] {
  const parts = candidate.content?.parts;
  if (parts === undefined) return [];
  if (!Array.isArray(parts)) throw new UpstreamProtocolError('Gemini content.parts is not an array');
  return parts.filter((p) => isRecord(p) && p.thought !== true);
}

/** A functionCall part as an OpenAI tool call; `n` numbers calls within the response. */
export function toolCallOf(part: GeminiPart, ctx: ResponseContext, n: number): ToolCall | undefined {
  const call = part.functionCall;
  if (call === undefined) return undefined;
  if (typeof call.name !== 'string' || call.name === '') throw new UpstreamProtocolError('Gemini functionCall without a name');
  return {
    id: geminiToolCallId(ctx.id, n, part.thoughtSignature),
    type: 'function',
    function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) },
  };
}

/** A whole `generateContent` answer as our completion. Throws UpstreamProtocolError. */
export function geminiChatResponse(body: unknown, ctx: ResponseContext): { completion: ChatCompletion; usage: UsageRecord; upstreamModel: string | undefined } {
  const res = asGeminiResponse(body);
  const candidates = res.candidates ?? [];
  let text = '';
  let calls = 0;
  const choices: ChatCompletion['choices'] = candidates.map((candidate, i) => {
    let content: string | null = null;
    const toolCalls: ToolCall[] = [];
    for (const part of answerParts(candidate)) {
      const call = toolCallOf(part, ctx, calls);
      if (call !== undefined) {
        toolCalls.push(call);
        calls += 1;
      } else if (typeof part.text === 'string') {
        content = (content ?? '') + part.text;
      }
    }
    text += content ?? '';
    const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content, refusal: null };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    return { index: candidate.index ?? i, message, logprobs: null, finish_reason: finishReason(candidate.finishReason, toolCalls.length > 0) };
  });
  // A blocked prompt has no candidates, only promptFeedback.blockReason: one filtered, empty choice.
  if (choices.length === 0) {
    choices.push({ index: 0, message: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: 'content_filter' });
  }
  const usage = usageFromMetadata(res.usageMetadata) ?? estimatedUsage(ctx, text);
  const completion: ChatCompletion = { id: ctx.id, object: 'chat.completion', created: ctx.created, model: ctx.model, choices, usage: toOpenAiUsage(usage) };
  return { completion, usage, upstreamModel: reportedModel(res.modelVersion) };
}
