import type { ChatRequest } from '../../api/chat-types.js';
import type { ProviderAdapter, ResponseContext, TargetInfo, UpstreamCall } from '../types.js';
import { inputTokensOf } from '../count-answer.js';
import { messagesCountCall } from './count-tokens.js';
import { anthropicErrorInfo } from './error.js';
import { anthropicParameters } from './parameters.js';
import { NativeMessagesStream, nativeMessagesCall, nativeMessagesResponse } from './passthrough.js';
import { messagesCall, toMessagesBody } from './request.js';
import { messageToCompletion } from './response.js';
import { AnthropicStreamTranslator } from './stream.js';

export { messagesCall } from './request.js';

/**
 * Anthropic's Messages API (protocols.md §2). Chat only: Anthropic has no embeddings or legacy
 * completions endpoint, so those routes answer 400 naming the provider.
 */
export const anthropicAdapter: ProviderAdapter = {
  dialect: 'anthropic',
  streamFraming: 'sse',
  chatParameters: anthropicParameters,

  chatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall {
    return messagesCall(toMessagesBody(request, target) as Record<string, unknown>, target, request.stream);
  },

  chatResponse: (body: unknown, ctx: ResponseContext) => messageToCompletion(body, ctx),

  chatStream: (ctx: ResponseContext) => new AnthropicStreamTranslator(ctx),

  errorInfo: anthropicErrorInfo,

  messagesRequest: nativeMessagesCall,
  messagesResponse: nativeMessagesResponse,
  messagesStream: (ctx: ResponseContext) => new NativeMessagesStream(ctx),

  messagesCountRequest: messagesCountCall,
  countTokensResponse: inputTokensOf,
};
