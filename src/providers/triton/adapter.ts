import type { ProviderAdapter } from '../types.js';
import { tritonErrorInfo } from './error.js';
import { tritonParameters } from './parameters.js';
import { tritonChatRequest } from './request.js';
import { tritonChatResponse } from './response.js';
import { TritonStreamTranslator } from './stream.js';

/**
 * NVIDIA Triton's generate / generate_stream extension (TensorRT-LLM ensembles and BLS models).
 * The protocol carries text only and reports no usage, so usage is estimated and marked so.
 */
export const tritonAdapter: ProviderAdapter = {
  dialect: 'triton',
  streamFraming: 'sse',
  chatParameters: tritonParameters,
  chatRequest: tritonChatRequest,
  chatResponse: tritonChatResponse,
  chatStream: (ctx) => new TritonStreamTranslator(ctx),
  errorInfo: tritonErrorInfo,
};
