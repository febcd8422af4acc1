import { z } from 'zod';
import type { ChatMessage, ChatRequest } from './chat-types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { isCommonValidChat } from './chat-fast-check.js';
import { chatRemoteMedia } from './remote-media.js';
import { chatBounds, modelName, outputTokens, refuseClientRouting, requestCaps, zodToGatewayError } from './parse-common.js';

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
