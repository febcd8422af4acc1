import { GatewayError } from '../../errors/gateway-error.js';
import type { CountOperation } from '../../pipeline/count-tokens.js';
import { refuseClientRouting } from '../parse-common.js';
import { parseResponsesRequest } from '../parse-responses.js';
import type { ResponseItem, ResponsesApiRequest } from '../responses-types.js';
import { estimateChatInputTokens } from './estimate.js';

/** A validated `POST /v1/responses/input_tokens` body: the input side of a Responses request. */
export type ResponsesCountRequest = Pick<ResponsesApiRequest, 'model' | 'native' | 'chat' | 'untranslatable'>;

/**
 * Responses create parameters that are not count parameters (OpenAI's `TokenCountsBody` has the
 * input side only: model, input, instructions, tools, tool_choice, text, reasoning, truncation,
 * parallel_tool_calls…): refused by name, as OpenAI refuses unknown parameters.
 */
const notCounted = [
  'max_output_tokens', 'stream', 'stream_options', 'store', 'temperature', 'top_p', 'metadata', 'background', 'include', 'service_tier',
  'user', 'safety_identifier', 'prompt_cache_key', 'prompt_cache_retention', 'top_logprobs', 'max_tool_calls',
] as const;

/**
 * Validates a count body the way `/v1/responses` validates its own. `input` may be left out (the
 * count of the instructions and tools alone). `prior`: the stored items a `previous_response_id`
 * expands to, loaded by the caller; without them `previous_response_id` is refused (a count
 * without the history would be wrong).
 */
export function parseResponsesCountRequest(raw: unknown, prior?: readonly ResponseItem[]): ResponsesCountRequest {
  const body = refuseClientRouting(raw);
  for (const param of notCounted) {
    if (Object.hasOwn(body, param)) throw new GatewayError('invalid_request', `'${param}' is not a parameter of /v1/responses/input_tokens (it only shapes the output).`, { param });
  }
  if (prior === undefined && body.previous_response_id !== undefined && body.previous_response_id !== null) {
    throw new GatewayError('unsupported_parameter', "'previous_response_id' is not supported by /v1/responses/input_tokens on this gateway: send the conversation's items in 'input'.", { param: 'previous_response_id' });
  }
  const parsed = parseResponsesRequest({ ...body, input: body.input ?? [] }, prior, { emptyInput: true });
  // A native upstream gets the input as the client wrote it (the parser's normalised items carry
  // item ids made up for storage), and none when the client sent none; after the stored items
  // of a continued conversation (which already carry their ids).
  const { input: _normalised, ...rest } = parsed.native;
  const own = body.input ?? undefined;
  let input: unknown = own;
  if (prior !== undefined && prior.length > 0) input = [...prior, ...(own === undefined ? [] : typeof own === 'string' ? [{ role: 'user', content: own }] : (own as unknown[]))];
  const native = input === undefined ? rest : { ...rest, input };
  return { model: parsed.model, native: Object.freeze(native), chat: parsed.chat, untranslatable: parsed.untranslatable };
}

/**
 * OpenAI's `POST /v1/responses/input_tokens` (`{"object":"response.input_tokens","input_tokens":N}`):
 * counted by the upstream only on a deployment that serves the Responses API natively
 * (`responsesApi`) or by a Gemini one's `:countTokens`, by our tokenizer for every other.
 */
export const responsesCountOperation: CountOperation<ResponsesCountRequest> = {
  route: '/v1/responses/input_tokens',
  parse: (body) => parseResponsesCountRequest(body),
  upstreamCall: (adapter, r, target) => {
    if (target.responsesApi === true) return adapter.responsesCountRequest?.(r.native, target);
    // A provider that counts chat (Gemini) gets the translation when it is lossless.
    return r.untranslatable === undefined ? adapter.chatCountRequest?.(r.chat, target) : undefined;
  },
  estimate: (r) => estimateChatInputTokens(r.chat),
  answer: (inputTokens) => ({ object: 'response.input_tokens', input_tokens: inputTokens }),
};

/**
 * The same endpoint for a continued conversation: `prior` are the stored items its
 * `previous_response_id` expands to (the response store's handler loads them for the caller's
 * team, as for `POST /v1/responses`).
 */
export function responsesCountWith(prior: readonly ResponseItem[] | undefined): CountOperation<ResponsesCountRequest> {
  return { ...responsesCountOperation, parse: (body) => parseResponsesCountRequest(body, prior) };
}
