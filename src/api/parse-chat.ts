import { z } from 'zod';
import type { ChatMessage, ChatRequest } from './chat-types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { formatPath } from '../config/load.js';

/** Limits on what one request may ask for (reliability.md §4, "Limits on input"). */
export const requestCaps = {
  maxMessages: 2048,
  maxChoices: 8,
  maxOutputTokens: 1_000_000,
  maxModelNameLength: 256,
} as const;

/**
 * Fields that would let a client choose where (or with which credentials) we call a provider.
 * They are refused outright rather than ignored, so nobody believes they took effect (S-10).
 */
const refusedFields = ['api_base', 'base_url', 'api_key', 'api_version', 'custom_llm_provider', 'extra_headers', 'headers'];

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

const tokens = z.number().int().min(1).max(requestCaps.maxOutputTokens);

const chatBody = z.looseObject({
  model: z
    .string()
    .min(1)
    .max(requestCaps.maxModelNameLength)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  messages: z.array(message).min(1).max(requestCaps.maxMessages),
  stream: z.boolean().nullable().optional(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).nullable().optional(),
  max_tokens: tokens.nullable().optional(),
  max_completion_tokens: tokens.nullable().optional(),
  n: z.number().int().min(1).max(requestCaps.maxChoices).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
  user: z.string().max(256).optional(),
});

/** Validates a parsed JSON body as a chat-completions request; throws GatewayError (400). */
export function parseChatRequest(body: unknown): ChatRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new GatewayError('invalid_json', 'The request body must be a JSON object.');
  }
  for (const field of refusedFields) {
    if (Object.hasOwn(body, field)) {
      throw new GatewayError('unsupported_parameter', `The '${field}' parameter is not accepted by this gateway: upstreams and their credentials are chosen by configuration.`, { param: field });
    }
  }
  const result = chatBody.safeParse(body);
  if (!result.success) throw invalidField(result.error);
  const b = result.data;
  const stream = b.stream === true;
  if (!stream && b.stream_options != null) {
    throw new GatewayError('invalid_request', "The 'stream_options' parameter is only allowed when 'stream' is true.", { param: 'stream_options' });
  }
  return Object.freeze({
    body: Object.freeze(b),
    model: b.model,
    messages: b.messages as ChatMessage[],
    stream,
    includeUsage: stream && b.stream_options?.include_usage === true,
    maxOutputTokens: b.max_completion_tokens ?? b.max_tokens ?? undefined,
    n: b.n ?? 1,
  });
}

function invalidField(error: z.ZodError): GatewayError {
  const issue = error.issues[0];
  const param = issue ? formatPath(issue.path) : '';
  const what = issue?.code === 'invalid_type' && issue.input === undefined ? 'is required' : `is invalid: ${issue?.message ?? 'bad value'}`;
  return new GatewayError('invalid_request', param ? `'${param}' ${what}.` : `The request ${what}.`, { param: param || null });
}
