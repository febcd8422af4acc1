import type { ProviderAdapter } from '../types.js';
import { bedrockErrorInfo } from './error.js';
import { bedrockParameters } from './parameters.js';
import { bedrockChatRequest } from './request.js';
import { bedrockChatResponse } from './response.js';
import { BedrockStreamTranslator } from './stream.js';

/**
 * AWS Bedrock Converse / ConverseStream (protocols.md §5.3). Chat only: Bedrock's embedding
 * models use InvokeModel with per-model bodies, which this adapter does not speak. Requests are
 * signed with SigV4 by `upstream/credentials.ts`; streams are AWS binary event streams.
 */
export const bedrockAdapter: ProviderAdapter = {
  dialect: 'bedrock',
  streamFraming: 'aws-eventstream',
  chatParameters: bedrockParameters,
  chatRequest: bedrockChatRequest,
  chatResponse: bedrockChatResponse,
  chatStream: (ctx) => new BedrockStreamTranslator(ctx),
  errorInfo: bedrockErrorInfo,
};
