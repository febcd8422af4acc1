import { isRecord } from '../is-record.js';
import { UpstreamProtocolError } from './types.js';

/**
 * The `input_tokens` of a provider's count answer (Anthropic's `/v1/messages/count_tokens` and
 * OpenAI's `/v1/responses/input_tokens` share the field). A count that is not a non-negative
 * safe integer is a protocol error: the gateway's estimate answers instead.
 */
export function inputTokensOf(body: unknown): number {
  const n = isRecord(body) ? body.input_tokens : undefined;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new UpstreamProtocolError('token count answer without a valid input_tokens');
  return n;
}
