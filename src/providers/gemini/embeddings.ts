import type { EmbeddingsRequest, EmbeddingsResponse } from '../../api/embeddings-types.js';
import type { UsageRecord } from '../../api/chat-types.js';
import { floatsToBase64 } from '../embeddings-encoding.js';
import { isRecord, unsupported } from '../translate-helpers.js';
import { UpstreamProtocolError, type EmbeddingsContext, type TargetInfo, type UpstreamCall } from '../types.js';
import type { GeminiBatchEmbedRequest } from './wire.js';

/**
 * Embeddings through `models/{model}:batchEmbedContents` (one call for one or many inputs).
 * Gemini reports no token usage for embeddings, so usage is estimated and marked so.
 */
export function geminiEmbeddingsRequest(request: EmbeddingsRequest, target: TargetInfo): UpstreamCall {
  if (request.texts === undefined) throw unsupported('input', 'Gemini deployments embed text only; token-id inputs are not supported.');
  const model = target.upstreamModel.replace(/^models\//, '');
  const body: GeminiBatchEmbedRequest = {
    requests: request.texts.map((text) => ({
      model: `models/${model}`,
      content: { parts: [{ text }] },
      ...(request.dimensions === undefined ? {} : { outputDimensionality: request.dimensions }),
    })),
  };
  return {
    method: 'POST',
    path: `${target.basePath}/models/${encodeURIComponent(model)}:batchEmbedContents`,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  };
}

export function geminiEmbeddingsResponse(body: unknown, ctx: EmbeddingsContext): { response: EmbeddingsResponse; usage: UsageRecord } {
  if (!isRecord(body) || !Array.isArray(body['embeddings'])) throw new UpstreamProtocolError('Gemini embeddings response without an embeddings array');
  const data = body['embeddings'].map((e: unknown, index) => {
    if (!isRecord(e) || !Array.isArray(e['values']) || !e['values'].every((v) => typeof v === 'number')) {
      throw new UpstreamProtocolError('Gemini embedding without numeric values');
    }
    const values = e['values'] as number[];
    return { object: 'embedding' as const, index, embedding: ctx.encodingFormat === 'base64' ? floatsToBase64(values) : values };
  });
  const usage: UsageRecord = { promptTokens: ctx.promptTokensEstimate, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, estimated: true };
  return { response: { object: 'list', data, model: ctx.model, usage: { prompt_tokens: usage.promptTokens, total_tokens: usage.promptTokens } }, usage };
}
