import type { UsageRecord } from '../../api/chat-types.js';
import type { EmbeddingsRequest, EmbeddingsResponse } from '../../api/embeddings-types.js';
import { floatsToBase64 } from '../embeddings-encoding.js';
import { isRecord, unsupported } from '../translate-helpers.js';
import { UpstreamProtocolError, type EmbeddingsContext, type TargetInfo, type UpstreamCall } from '../types.js';
import type { OllamaEmbedRequest } from './wire.js';

/** Embeddings through `POST /api/embed` (`{model, input:[…]}` → `{embeddings:[[…]]}`). */
export function ollamaEmbeddingsRequest(request: EmbeddingsRequest, target: TargetInfo): UpstreamCall {
  if (request.texts === undefined) throw unsupported('input', 'Ollama deployments embed text only; token-id inputs are not supported.');
  const body: OllamaEmbedRequest = { model: target.upstreamModel, input: [...request.texts] };
  if (request.dimensions !== undefined) body.dimensions = request.dimensions;
  return {
    method: 'POST',
    path: `${target.basePath}/api/embed`,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  };
}

export function ollamaEmbeddingsResponse(body: unknown, ctx: EmbeddingsContext): { response: EmbeddingsResponse; usage: UsageRecord } {
  if (!isRecord(body) || !Array.isArray(body['embeddings'])) throw new UpstreamProtocolError('Ollama embed response without an embeddings array');
  const data = body['embeddings'].map((values: unknown, index) => {
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'number')) throw new UpstreamProtocolError('Ollama embedding is not an array of numbers');
    return { object: 'embedding' as const, index, embedding: ctx.encodingFormat === 'base64' ? floatsToBase64(values as number[]) : (values as number[]) };
  });
  const reported = typeof body['prompt_eval_count'] === 'number' ? body['prompt_eval_count'] : undefined;
  const promptTokens = reported ?? ctx.promptTokensEstimate;
  const usage: UsageRecord = { promptTokens, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, estimated: reported === undefined };
  return { response: { object: 'list', data, model: ctx.model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }, usage };
}
