import type { ChatRequest } from '../../api/chat-types.js';
import type { ProviderAdapter, ResponseContext, TargetInfo, UpstreamCall } from '../types.js';
import { anthropicErrorInfo } from './error.js';
import { toMessagesBody } from './request.js';
import { messageToCompletion } from './response.js';
import { AnthropicStreamTranslator } from './stream.js';
import { defaultAnthropicVersion } from './wire-types.js';

/**
 * The `POST {base}/v1/messages` call for a body already in Anthropic's shape. `anthropic-version`
 * is the deployment's `apiVersion` (default 2023-06-01); credentials (x-api-key, or Bearer for
 * 2026-10-21) are added by upstream/, never here.
 */
export function messagesCall(body: Record<string, unknown>, target: TargetInfo, stream: boolean): UpstreamCall {
  return {
    method: 'POST',
    path: `${target.basePath}/v1/messages`,
    headers: {
      'content-type': 'application/json',
      accept: stream ? 'text/event-stream' : 'application/json',
      'anthropic-version': target.apiVersion ?? defaultAnthropicVersion,
    },
    body: JSON.stringify(body),
  };
}

/**
 * Anthropic's Messages API (protocols.md §2). Chat only: Anthropic has no embeddings or legacy
 * completions endpoint, so those routes answer 400 naming the provider.
 */
export const anthropicAdapter: ProviderAdapter = {
  dialect: 'anthropic',
  streamFraming: 'sse',

  chatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall {
    return messagesCall(toMessagesBody(request, target) as Record<string, unknown>, target, request.stream);
  },

  chatResponse: (body: unknown, ctx: ResponseContext) => messageToCompletion(body, ctx),

  chatStream: (ctx: ResponseContext) => new AnthropicStreamTranslator(ctx),

  errorInfo: anthropicErrorInfo,
};
