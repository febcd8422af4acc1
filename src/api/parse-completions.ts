import { z } from 'zod';
import type { CompletionsRequest } from './completions-types.js';
import { countPromptTokenIds, modelName, outputTokens, refuseClientRouting, requestCaps, zodToGatewayError } from './parse-common.js';
import { GatewayError } from '../errors/gateway-error.js';

const tokenIds = z.array(z.number().int().min(0));

const completionsBody = z.looseObject({
  model: modelName,
  prompt: z.union([z.string(), z.array(z.string()).min(1).max(requestCaps.maxPrompts), tokenIds.min(1), z.array(tokenIds.min(1)).min(1).max(requestCaps.maxPrompts)]),
  stream: z.boolean().nullable().optional(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: outputTokens.nullable().optional(),
  n: z.number().int().min(1).max(requestCaps.maxChoices).nullable().optional(),
  best_of: z.number().int().min(1).max(requestCaps.maxChoices).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
});

/** Validates a legacy `/v1/completions` body; throws GatewayError (400). */
export function parseCompletionsRequest(body: unknown): CompletionsRequest {
  const object = refuseClientRouting(body);
  const promptTokenIds = countPromptTokenIds(object.prompt, 'prompt');
  const result = completionsBody.safeParse(object);
  if (!result.success) throw zodToGatewayError(result.error);
  const b = result.data;
  const stream = b.stream === true;
  if (!stream && b.stream_options != null) {
    throw new GatewayError('invalid_request', "The 'stream_options' parameter is only allowed when 'stream' is true.", { param: 'stream_options' });
  }
  const prompts = typeof b.prompt === 'string' ? [b.prompt] : b.prompt.every((x) => typeof x === 'string') ? (b.prompt as string[]) : undefined;
  const n = b.n ?? 1;
  return Object.freeze({
    body: Object.freeze(b),
    model: b.model,
    prompts,
    // A string is one prompt, a flat number array one token-id prompt; otherwise one per element.
    promptCount: typeof b.prompt === 'string' || typeof b.prompt[0] === 'number' ? 1 : b.prompt.length,
    promptTokenIds,
    stream,
    includeUsage: stream && b.stream_options?.include_usage === true,
    // The legacy API defaults max_tokens to 16 upstream; we reserve what it will really use.
    maxOutputTokens: b.max_tokens ?? 16,
    n,
    choicesPerPrompt: Math.max(n, b.best_of ?? 1),
  });
}
