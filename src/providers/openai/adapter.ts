import type { TextCompletion } from '../../api/completions-types.js';
import type { EmbeddingsRequest } from '../../api/embeddings-types.js';
import type { ProviderAdapter, TargetInfo } from '../types.js';
import { openAiEmbeddingsRequest, openAiEmbeddingsResponse } from './embeddings.js';
import { openAiErrorInfo } from './error.js';
import { passThroughParameters } from './parameters.js';
import { endpointPath, openAiChatRequest, openAiCompletionsRequest } from './request.js';
import { openAiChatResponse, openAiCompletionsResponse } from './response.js';
import { NativeResponsesStream, openAiResponsesRequest, openAiResponsesResponse } from './responses.js';
import { OpenAiStreamTranslator } from './stream.js';
import { inputTokensOf } from '../count-answer.js';
import { responsesCountCall } from './count-tokens.js';

export { openAiErrorInfo } from './error.js';

/**
 * OpenAI's protocol, spoken by OpenAI, vLLM, Azure OpenAI and most other servers. Bodies pass
 * through with only `model` replaced (Azure's classic surface ignores it; the path names the
 * deployment), so every OpenAI parameter reaches providers that understand it.
 */
function openAiCompatibleAdapter(dialect: 'openai' | 'azure'): ProviderAdapter {
  return {
    dialect,
    streamFraming: 'sse',
    chatParameters: passThroughParameters(dialect === 'azure' ? 'Azure OpenAI' : 'OpenAI'),
    chatRequest: openAiChatRequest,
    chatResponse: openAiChatResponse,
    chatStream: (ctx) => new OpenAiStreamTranslator(ctx),
    errorInfo: openAiErrorInfo,
    embeddingsRequest: (request: EmbeddingsRequest, target: TargetInfo) => openAiEmbeddingsRequest(request, target, endpointPath(target, 'embeddings')),
    embeddingsResponse: openAiEmbeddingsResponse,
    completionsRequest: openAiCompletionsRequest,
    completionsResponse: openAiCompletionsResponse,
    completionsStream: (ctx) => new OpenAiStreamTranslator<TextCompletion>(ctx),
    // Used only for deployments with `responsesApi` (TargetInfo.responsesApi); others translate to chat.
    responsesRequest: openAiResponsesRequest,
    responsesResponse: openAiResponsesResponse,
    responsesStream: (ctx) => new NativeResponsesStream(ctx),
    // Azure's Responses surface has no documented input_tokens endpoint: its counts are estimates.
    ...(dialect === 'openai' ? { responsesCountRequest: responsesCountCall, countTokensResponse: inputTokensOf } : {}),
  };
}

export const openAiAdapter: ProviderAdapter = openAiCompatibleAdapter('openai');
export const azureAdapter: ProviderAdapter = openAiCompatibleAdapter('azure');
