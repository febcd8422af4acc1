import { z } from 'zod';
import type { EmbeddingsRequest } from './embeddings-types.js';
import { countPromptTokenIds, modelName, refuseClientRouting, requestCaps, zodToGatewayError } from './parse-common.js';
import { GatewayError } from '../errors/gateway-error.js';

/** Most inputs one embeddings request may carry (OpenAI's own limit is 2,048). */
export const maxEmbeddingInputs = requestCaps.maxPrompts;

const tokenIds = z.array(z.number().int().min(0));

const embeddingsBody = z.looseObject({
  model: modelName,
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(maxEmbeddingInputs),
    tokenIds.min(1),
    z.array(tokenIds.min(1)).min(1).max(maxEmbeddingInputs),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().min(1).max(65_536).optional(),
  user: z.string().max(256).optional(),
});

/** Validates a parsed JSON body as an embeddings request; throws GatewayError (400). */
export function parseEmbeddingsRequest(body: unknown): EmbeddingsRequest {
  const object = refuseClientRouting(body);
  const inputTokenIds = countPromptTokenIds(object.input, 'input');
  const result = embeddingsBody.safeParse(object);
  if (!result.success) throw zodToGatewayError(result.error);
  const b = result.data;
  const texts = typeof b.input === 'string' ? [b.input] : b.input.every((x) => typeof x === 'string') ? (b.input as string[]) : undefined;
  if (texts?.some((t) => t.length === 0)) {
    throw new GatewayError('invalid_request', "'input' must not contain empty strings.", { param: 'input' });
  }
  return Object.freeze({
    body: Object.freeze(b),
    model: b.model,
    texts,
    inputTokenIds,
    // The OpenAI SDK asks for base64 by default; we answer in whatever the client asked for.
    encodingFormat: b.encoding_format ?? 'float',
    dimensions: b.dimensions,
  });
}
