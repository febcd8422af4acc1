import { GatewayError } from '../../errors/gateway-error.js';
import type { CountOperation } from '../../pipeline/count-tokens.js';
import { parseMessagesRequest, type MessagesApiRequest } from '../parse-messages.js';
import { refuseClientRouting } from '../parse-common.js';
import { estimateChatInputTokens } from './estimate.js';

/** A validated `POST /v1/messages/count_tokens` body: a Messages request without its output settings. */
export type MessagesCountRequest = Omit<MessagesApiRequest, 'stream' | 'includeUsage'>;

/**
 * `/v1/messages` parameters that only shape the output: Anthropic's count endpoint refuses them
 * ("Extra inputs are not permitted"), and so do we, naming the one sent.
 */
const outputOnly = ['max_tokens', 'stream', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'metadata', 'service_tier'] as const;

/**
 * Validates a count body the way `/v1/messages` validates its own (the same messages, system,
 * tools, tool_choice, thinking…), without `max_tokens`. Throws GatewayError (400 naming the parameter).
 */
export function parseMessagesCountRequest(raw: unknown, anthropicBeta?: string | string[]): MessagesCountRequest {
  const body = refuseClientRouting(raw);
  for (const param of outputOnly) {
    if (Object.hasOwn(body, param)) throw new GatewayError('invalid_request', `'${param}' is not a parameter of /v1/messages/count_tokens (it only shapes the output).`, { param });
  }
  // The Messages parser needs an output cap; the count body has none, and it is dropped again below.
  const parsed = parseMessagesRequest({ ...body, max_tokens: 1 }, anthropicBeta);
  const { max_tokens: _cap, ...native } = parsed.native;
  return { model: parsed.model, chat: parsed.chat, native: Object.freeze(native), untranslatable: parsed.untranslatable, betas: parsed.betas };
}

/**
 * Anthropic's `POST /v1/messages/count_tokens` (`{"input_tokens": N}`): counted by an Anthropic
 * deployment's own endpoint, a Gemini one's `:countTokens`, by our tokenizer for every other provider.
 */
export const messagesCountOperation: CountOperation<MessagesCountRequest> = {
  route: '/v1/messages/count_tokens',
  parse: (body, headers) => parseMessagesCountRequest(body, headers['anthropic-beta']),
  // Anthropic counts the native body; a provider that counts chat (Gemini) gets the translation,
  // unless it leaves something out (then its count would be too low: ours estimates).
  upstreamCall: (adapter, r, target) => (adapter.messagesCountRequest ? adapter.messagesCountRequest(r.native, target, r.betas) : r.untranslatable === undefined ? adapter.chatCountRequest?.(r.chat, target) : undefined),
  estimate: (r) => estimateChatInputTokens(r.chat),
  answer: (inputTokens) => ({ input_tokens: inputTokens }),
};
