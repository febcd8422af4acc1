import type { ProviderAdapter } from '../types.js';
import { geminiCountCall, geminiTotalTokens } from './count-tokens.js';
import { geminiEmbeddingsRequest, geminiEmbeddingsResponse } from './embeddings.js';
import { geminiErrorInfo } from './error.js';
import { geminiParameters } from './parameters.js';
import { geminiChatRequest } from './request.js';
import { geminiChatResponse } from './response.js';
import { GeminiStreamTranslator } from './stream.js';

/**
 * Google Gemini's Generative Language API (`generateContent`, `streamGenerateContent?alt=sse`,
 * `batchEmbedContents`), authenticated with `x-goog-api-key` by `upstream/`.
 */
export const geminiAdapter: ProviderAdapter = {
  dialect: 'gemini',
  streamFraming: 'sse',
  chatParameters: geminiParameters,
  chatRequest: geminiChatRequest,
  chatResponse: geminiChatResponse,
  chatStream: (ctx) => new GeminiStreamTranslator(ctx),
  errorInfo: geminiErrorInfo,
  embeddingsRequest: geminiEmbeddingsRequest,
  embeddingsResponse: geminiEmbeddingsResponse,
  chatCountRequest: geminiCountCall,
  countTokensResponse: geminiTotalTokens,
};
