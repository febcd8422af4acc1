import type { ChatRequest } from '../../api/chat-types.js';
import { isRecord } from '../../is-record.js';
import { UpstreamProtocolError, type TargetInfo, type UpstreamCall } from '../types.js';
import { geminiModelSegment, geminiRequestBody } from './request.js';

/**
 * Gemini's `models/{model}:countTokens` for a chat request: the whole `GenerateContentRequest`
 * (contents, system instruction, tools, tool config) as `generateContentRequest`, so the count
 * covers what a generateContent call would bill as prompt. The generation config shapes only
 * the output and is left out. Throws GatewayError where Gemini cannot express the request (the
 * caller then estimates).
 */
export function geminiCountCall(request: ChatRequest, target: TargetInfo): UpstreamCall {
  const { generationConfig: _output, ...body } = geminiRequestBody({ ...request, stream: false }, target);
  const model = geminiModelSegment(target);
  return {
    method: 'POST',
    path: `${target.basePath}/models/${model}:countTokens`,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ generateContentRequest: { model: `models/${decodeURIComponent(model)}`, ...body } }),
  };
}

/** `totalTokens` of a countTokens answer; anything else is a protocol error (the estimate answers). */
export function geminiTotalTokens(body: unknown): number {
  const n = isRecord(body) ? body.totalTokens : undefined;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new UpstreamProtocolError('countTokens answer without a valid totalTokens');
  return n;
}
