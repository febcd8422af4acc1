import type { ChatCompletion, ChatRequest } from '../../api/chat-types.js';
import type { CompletionsRequest, TextCompletion } from '../../api/completions-types.js';
import type { EmbeddingsRequest } from '../../api/embeddings-types.js';
import { UpstreamProtocolError, type ProviderAdapter, type ResponseContext, type TargetInfo, type UpstreamCall } from '../types.js';
import { openAiEmbeddingsRequest, openAiEmbeddingsResponse } from './embeddings.js';
import { isObject, openAiErrorInfo } from './error.js';
import { reportedModel } from '../reported-model.js';
import { passThroughParameters } from './parameters.js';
import { OpenAiStreamTranslator } from './stream.js';
import { normalisedUsage, usageRecord } from './usage.js';

export { openAiErrorInfo } from './error.js';

type Endpoint = 'chat/completions' | 'completions' | 'embeddings';

/**
 * Where each endpoint lives. OpenAI, vLLM and Azure's `/openai/v1` surface use `{base}/{endpoint}`;
 * Azure's classic surface (a pinned `api-version`) addresses the deployment in the path.
 */
function endpointPath(target: TargetInfo, endpoint: Endpoint): string {
  if (target.apiVersion === undefined) return `${target.basePath}/${endpoint}`;
  return `${target.basePath}/deployments/${encodeURIComponent(target.upstreamModel)}/${endpoint}?api-version=${encodeURIComponent(target.apiVersion)}`;
}

function jsonCall(path: string, body: Record<string, unknown>, stream: boolean): UpstreamCall {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' },
    body: JSON.stringify(body),
  };
}

/** The client's body with `model` replaced; streams always ask for usage so limits see real counts. */
function passThroughBody(body: Readonly<Record<string, unknown>>, stream: boolean, model: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body, model };
  if (stream) out.stream_options = { ...((body.stream_options ?? {}) as Record<string, unknown>), include_usage: true };
  return out;
}

/** Collects the text of every choice, for estimates when a provider reports no usage. */
function choicesText(choices: unknown[], read: (choice: Record<string, unknown>) => unknown): string {
  let text = '';
  for (const choice of choices) {
    const t = isObject(choice) ? read(choice) : undefined;
    if (typeof t === 'string') text += t;
  }
  return text;
}

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

    chatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall {
      return jsonCall(endpointPath(target, 'chat/completions'), passThroughBody(request.body, request.stream, target.upstreamModel), request.stream);
    },

    chatResponse(body: unknown, ctx: ResponseContext) {
      if (!isObject(body) || !Array.isArray(body.choices)) throw new UpstreamProtocolError('chat completion without a choices array');
      const completion = { ...body, model: ctx.model } as ChatCompletion;
      const text = choicesText(completion.choices, (c) => (isObject(c.message) ? c.message.content : undefined));
      const usage = usageRecord(body.usage, ctx, text);
      completion.usage = normalisedUsage(body.usage, usage);
      return { completion, usage, upstreamModel: reportedModel(body.model) };
    },

    chatStream: (ctx) => new OpenAiStreamTranslator(ctx),

    errorInfo: openAiErrorInfo,

    embeddingsRequest: (request: EmbeddingsRequest, target: TargetInfo) => openAiEmbeddingsRequest(request, target, endpointPath(target, 'embeddings')),

    embeddingsResponse: openAiEmbeddingsResponse,

    completionsRequest(request: CompletionsRequest, target: TargetInfo): UpstreamCall {
      return jsonCall(endpointPath(target, 'completions'), passThroughBody(request.body, request.stream, target.upstreamModel), request.stream);
    },

    completionsResponse(body: unknown, ctx: ResponseContext) {
      if (!isObject(body) || !Array.isArray(body.choices)) throw new UpstreamProtocolError('text completion without a choices array');
      const completion = { ...body, model: ctx.model } as TextCompletion;
      const text = choicesText(completion.choices, (c) => c.text);
      const usage = usageRecord(body.usage, ctx, text);
      completion.usage = normalisedUsage(body.usage, usage);
      return { completion, usage, upstreamModel: reportedModel(body.model) };
    },

    completionsStream: (ctx) => new OpenAiStreamTranslator<TextCompletion>(ctx),
  };
}

export const openAiAdapter: ProviderAdapter = openAiCompatibleAdapter('openai');
export const azureAdapter: ProviderAdapter = openAiCompatibleAdapter('azure');
