import type { TargetInfo, UpstreamCall } from '../types.js';
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
