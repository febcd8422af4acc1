import { z } from 'zod';
import type { ChatMessage, ChatRequest } from './chat-types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { isCommonValidChat } from './chat-fast-check.js';
import { chatRemoteMedia } from './remote-media.js';
import { chatBounds, functionCallModes, modelName, outputTokens, refuseClientRouting, requestCaps, toolChoiceModes, zodToGatewayError } from './parse-common.js';

export { requestCaps } from './parse-common.js';

const contentPart = z.looseObject({ type: z.string().min(1) });
const content = z.union([z.string(), z.array(contentPart)]);

const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: content.nullable().optional(),
  name: z.string().optional(),
  tool_call_id: z.string().optional(),
  tool_calls: z
    .array(
      z.looseObject({
        id: z.string(),
        type: z.literal('function'),
        function: z.looseObject({ name: z.string(), arguments: z.string() }),
      }),
    )
    .optional(),
});

/**
 * Known OpenAI fields are checked for type and range as the OpenAPI spec defines them
 * (CreateChatCompletionRequest), so a wrong type is a 400 naming the field here rather than a
 * provider's error, or worse, a provider that silently ignores it. Their contents beyond the
 * shape (a tool's JSON schema, a json_schema's schema) are the provider's to judge; enums that
 * grow with new models (`reasoning_effort`, `service_tier`, `verbosity`, `modalities`) are
 * checked as strings only. Unknown fields still pass through.
 */
const nullable = <T extends z.ZodType>(t: T) => t.nullable().optional();
const integer = z.number().refine(Number.isInteger, 'must be an integer');
const penalty = z.number().min(chatBounds.penalty.min).max(chatBounds.penalty.max);
const named = z.looseObject({ name: z.string() });
const tool = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('function'), function: named }),
  z.looseObject({ type: z.literal('custom'), custom: named }),
]);
const toolChoice = z.union([
  z.enum(toolChoiceModes),
  z.discriminatedUnion('type', [
    z.looseObject({ type: z.literal('function'), function: named }),
    z.looseObject({ type: z.literal('custom'), custom: named }),
    z.looseObject({ type: z.literal('allowed_tools'), allowed_tools: z.looseObject({}) }),
  ]),
]);
const responseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({ type: z.literal('json_schema'), json_schema: named }),
]);
const metadata = z
  .record(z.string().max(chatBounds.metadata.maxKeyLength), z.string().max(chatBounds.metadata.maxValueLength))
  .refine((m) => Object.keys(m).length <= chatBounds.metadata.maxKeys, `must have at most ${chatBounds.metadata.maxKeys} keys`);
const object = z.looseObject({});

/** The chat body's schema; exported for the agreement test of chat-fast-check.ts. */
export const chatBody = z.looseObject({
  model: modelName,
  messages: z.array(message).min(1).max(requestCaps.maxMessages),
  stream: z.boolean().nullable().optional(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).nullable().optional(),
  max_tokens: outputTokens.nullable().optional(),
  max_completion_tokens: outputTokens.nullable().optional(),
  n: z.number().int().min(1).max(requestCaps.maxChoices).nullable().optional(),
  temperature: z.number().min(chatBounds.temperature.min).max(chatBounds.temperature.max).nullable().optional(),
  top_p: z.number().min(chatBounds.topP.min).max(chatBounds.topP.max).nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(chatBounds.maxStopSequences)]).nullable().optional(),
  user: z.string().max(chatBounds.maxUserLength).optional(),
  frequency_penalty: nullable(penalty),
  presence_penalty: nullable(penalty),
  seed: nullable(integer),
  logprobs: nullable(z.boolean()),
  top_logprobs: nullable(integer.min(chatBounds.topLogprobs.min).max(chatBounds.topLogprobs.max)),
  logit_bias: nullable(z.record(z.string(), integer.min(chatBounds.logitBias.min).max(chatBounds.logitBias.max))),
  tools: nullable(z.array(tool)),
  tool_choice: nullable(toolChoice),
  parallel_tool_calls: nullable(z.boolean()),
  functions: nullable(z.array(named).min(1).max(chatBounds.maxFunctions)),
  function_call: nullable(z.union([z.enum(functionCallModes), named])),
  response_format: nullable(responseFormat),
  store: nullable(z.boolean()),
  metadata: nullable(metadata),
  service_tier: nullable(z.string()),
  reasoning_effort: nullable(z.string()),
  verbosity: nullable(z.string()),
  modalities: nullable(z.array(z.string())),
  prediction: nullable(object),
  audio: nullable(object),
  web_search_options: nullable(object),
  prompt_cache_key: nullable(z.string()),
  safety_identifier: nullable(z.string().max(chatBounds.maxSafetyIdentifierLength)),
});

type ChatBody = z.infer<typeof chatBody>;

function validated(raw: Record<string, unknown>): ChatBody {
  const result = chatBody.safeParse(raw);
  if (!result.success) throw zodToGatewayError(result.error);
  return result.data;
}

/** Validates a parsed JSON body as a chat-completions request; throws GatewayError (400). */
export function parseChatRequest(body: unknown): ChatRequest {
  const raw = refuseClientRouting(body);
  const b = isCommonValidChat(raw) ? (raw as ChatBody) : validated(raw);
  const stream = b.stream === true;
  if (!stream && b.stream_options != null) {
    throw new GatewayError('invalid_request', "The 'stream_options' parameter is only allowed when 'stream' is true.", { param: 'stream_options' });
  }
  const messages = b.messages as ChatMessage[];
  const remoteMediaParam = chatRemoteMedia(messages);
  return Object.freeze({
    body: Object.freeze(b),
    model: b.model,
    messages,
    stream,
    includeUsage: stream && b.stream_options?.include_usage === true,
    maxOutputTokens: b.max_completion_tokens ?? b.max_tokens ?? undefined,
    n: b.n ?? 1,
    ...(remoteMediaParam === undefined ? {} : { remoteMediaParam }),
  });
}
