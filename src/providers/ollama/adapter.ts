import type { ProviderAdapter } from '../types.js';
import { ollamaEmbeddingsRequest, ollamaEmbeddingsResponse } from './embeddings.js';
import { ollamaErrorInfo } from './error.js';
import { ollamaParameters } from './parameters.js';
import { ollamaChatRequest } from './request.js';
import { ollamaChatResponse } from './response.js';
import { OllamaStreamTranslator } from './stream.js';

/** Ollama's native API: `/api/chat` (NDJSON streams) and `/api/embed`. */
export const ollamaAdapter: ProviderAdapter = {
  dialect: 'ollama',
  streamFraming: 'ndjson',
  chatParameters: ollamaParameters,
  chatRequest: ollamaChatRequest,
  chatResponse: ollamaChatResponse,
  chatStream: (ctx) => new OllamaStreamTranslator(ctx),
  errorInfo: ollamaErrorInfo,
  embeddingsRequest: ollamaEmbeddingsRequest,
  embeddingsResponse: ollamaEmbeddingsResponse,
};
