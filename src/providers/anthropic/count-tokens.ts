import { isRecord } from '../../is-record.js';
import { UpstreamProtocolError, type TargetInfo, type UpstreamCall } from '../types.js';
import { nativeMessagesCall } from './passthrough.js';

/**
 * Anthropic's `POST /v1/messages/count_tokens`: the same native body as `/v1/messages` without
 * `max_tokens` (the count endpoint refuses it), with the deployment's model, `system` turns
 * hoisted as for the Messages call and the client's `anthropic-beta` forwarded.
 */
export function messagesCountCall(native: Readonly<Record<string, unknown>>, target: TargetInfo, betas: string | undefined): UpstreamCall {
  const call = nativeMessagesCall(native, target, false, betas);
  return { ...call, path: `${target.basePath}/v1/messages/count_tokens` };
}

/**
 * The `input_tokens` of a count answer (Anthropic's and OpenAI's share the field). A count that
 * is not a non-negative safe integer is a protocol error: the gateway's estimate answers instead.
 */
export function inputTokensOf(body: unknown): number {
  const n = isRecord(body) ? body.input_tokens : undefined;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new UpstreamProtocolError('token count answer without a valid input_tokens');
  return n;
}
