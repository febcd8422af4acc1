import { z } from 'zod';
import { formatPath } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';

/** Limits on what one request may ask for: every array and string a request can grow is capped, so the work per request is bounded. */
export const requestCaps = {
  maxMessages: 2048,
  maxChoices: 8,
  maxOutputTokens: 1_000_000,
  maxModelNameLength: 256,
  /** Prompts in one `/v1/completions` request or inputs in one `/v1/embeddings` request (OpenAI's own limit). */
  maxPrompts: 2048,
  /**
   * Token ids in all the token-id prompts (or inputs) of one request together: each is reserved
   * as one token, so this bounds both the validation work and what one request can reserve.
   */
  maxPromptTokenIds: 1_000_000,
} as const;

/** Bounds of chat parameters, shared by the schema (parse-chat.ts) and its quick check (chat-fast-check.ts). */
export const chatBounds = {
  temperature: { min: 0, max: 2 },
  topP: { min: 0, max: 1 },
  maxStopSequences: 4,
  maxUserLength: 256,
  /** `frequency_penalty`, `presence_penalty` (OpenAPI: -2..2). */
  penalty: { min: -2, max: 2 },
  topLogprobs: { min: 0, max: 20 },
  /** `logit_bias` values (OpenAI's documented range). */
  logitBias: { min: -100, max: 100 },
  /** `metadata` (OpenAPI `Metadata`): at most 16 string pairs. */
  metadata: { maxKeys: 16, maxKeyLength: 64, maxValueLength: 512 },
  maxSafetyIdentifierLength: 64,
  maxFunctions: 128,
} as const;

/** `tool_choice` and `function_call` as strings (OpenAPI enums). */
export const toolChoiceModes = ['none', 'auto', 'required'] as const;
export const functionCallModes = ['none', 'auto'] as const;
/** `response_format.type` (OpenAPI: text, json_object, json_schema). */
export const responseFormatTypes = ['text', 'json_object', 'json_schema'] as const;

/**
 * Model names are printable ASCII: non-ASCII look-alikes (homoglyphs, zero-width characters)
 * are refused before routing so they can never spoof an allow-list or reach a log line.
 */
export const modelName = z
  .string()
  .min(1)
  .max(requestCaps.maxModelNameLength)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const outputTokens = z.number().int().min(1).max(requestCaps.maxOutputTokens);

/**
 * Fields that would let a client choose where (or with which credentials) we call a provider.
 * They are refused outright rather than ignored, so nobody believes they took effect (S-10).
 */
const refusedFields = ['api_base', 'base_url', 'api_key', 'api_version', 'custom_llm_provider', 'extra_headers', 'headers'];

/** Checks the body is a JSON object without client-routing fields; returns it. Throws GatewayError (400). */
export function refuseClientRouting(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new GatewayError('invalid_json', 'The request body must be a JSON object.');
  }
  for (const field of refusedFields) {
    if (Object.hasOwn(body, field)) {
      throw new GatewayError('unsupported_parameter', `The '${field}' parameter is not accepted by this gateway: upstreams and their credentials are chosen by configuration.`, { param: field });
    }
  }
  return body as Record<string, unknown>;
}

/**
 * Checks a prompt (or embeddings input) in token-id form against `maxPrompts` and
 * `maxPromptTokenIds` before the schema walks it, so a huge array costs one length read and
 * not a validation pass; returns the number of token ids (0 for text). Throws GatewayError (400).
 * Work is bounded by `maxPrompts`, whatever the input.
 */
export function countPromptTokenIds(value: unknown, param: string): number {
  if (!Array.isArray(value)) return 0;
  if (value.length > requestCaps.maxPrompts && typeof value[0] !== 'number') {
    throw new GatewayError('invalid_request', `'${param}' has ${value.length} prompts; at most ${requestCaps.maxPrompts} are allowed.`, { param });
  }
  let ids = 0;
  if (typeof value[0] === 'number') ids = value.length;
  else if (Array.isArray(value[0])) for (const p of value) ids += Array.isArray(p) ? p.length : 0;
  if (ids > requestCaps.maxPromptTokenIds) {
    throw new GatewayError('invalid_request', `'${param}' holds ${ids} token ids; at most ${requestCaps.maxPromptTokenIds} are allowed in one request.`, { param });
  }
  return ids;
}

/** The first validation issue as a 400 naming the field in `param`. */
export function zodToGatewayError(error: z.ZodError): GatewayError {
  const issue = error.issues[0];
  const param = issue ? formatPath(issue.path) : '';
  const missing = issue?.code === 'invalid_type' && /received undefined/.test(issue.message);
  const what = missing ? 'is required' : `is invalid: ${issue?.message ?? 'bad value'}`;
  return new GatewayError('invalid_request', param ? `'${param}' ${what}.` : `The request ${what}.`, { param: param || null });
}
