import type { UsageRecord } from '../../api/chat-types.js';
import type { Embedding, EmbeddingsRequest, EmbeddingsResponse } from '../../api/embeddings-types.js';
import { base64ToFloats, floatsToBase64 } from '../embeddings-encoding.js';
import { UpstreamProtocolError, type EmbeddingsContext, type TargetInfo, type UpstreamCall } from '../types.js';
import { isObject } from './error.js';
import { usageRecord } from './response.js';

/** The client's embeddings body with only `model` replaced. */
export function openAiEmbeddingsRequest(request: EmbeddingsRequest, target: TargetInfo, path: string): UpstreamCall {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ ...request.body, model: target.upstreamModel }),
  };
}

/**
 * Passes the list through with `model` set to the alias, converting each vector to the encoding
 * the client asked for: some OpenAI-compatible servers ignore `encoding_format`, and a float
 * array where the SDK expects base64 silently decodes to an empty vector.
 */
export function openAiEmbeddingsResponse(body: unknown, ctx: EmbeddingsContext): { response: EmbeddingsResponse; usage: UsageRecord } {
  if (!isObject(body) || !Array.isArray(body.data)) throw new UpstreamProtocolError('embeddings response without a data array');
  const data: Embedding[] = body.data.map((item: unknown, i: number) => {
    if (!isObject(item)) throw new UpstreamProtocolError('embedding entry is not an object');
    const index = typeof item.index === 'number' ? item.index : i;
    return { object: 'embedding', index, embedding: encode(item.embedding, ctx.encodingFormat) };
  });
  const usage = usageRecord(body.usage, ctx, '');
  return {
    response: { object: 'list', data, model: ctx.model, usage: { prompt_tokens: usage.promptTokens, total_tokens: usage.promptTokens } },
    usage,
  };
}

function encode(vector: unknown, format: 'float' | 'base64'): number[] | string {
  if (typeof vector === 'string') return format === 'base64' ? vector : base64ToFloats(vector);
  if (Array.isArray(vector) && vector.every((x) => typeof x === 'number')) return format === 'base64' ? floatsToBase64(vector) : vector;
  throw new UpstreamProtocolError('embedding is neither a float array nor base64');
}
