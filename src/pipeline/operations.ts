import type { ChatChunk, ChatCompletion, ChatRequest, UsageRecord } from '../api/chat-types.js';
import { messagesPrefixBlocks, textPrefixBlocks } from '../routing/prefix.js';
import type { CompletionsRequest, TextCompletion } from '../api/completions-types.js';
import type { EmbeddingsRequest, EmbeddingsResponse } from '../api/embeddings-types.js';
import { parseChatRequest } from '../api/parse-chat.js';
import { parseCompletionsRequest } from '../api/parse-completions.js';
import { parseEmbeddingsRequest } from '../api/parse-embeddings.js';
import { countPromptTokens, countTextsTokens } from '../api/token-count.js';
import { ChatToMessagesStream, completionToMessage } from '../api/messages-from-chat.js';
import { parseMessagesRequest, type MessagesApiRequest } from '../api/parse-messages.js';
import type { AnthropicMessage, AnthropicStreamEvent } from '../providers/anthropic/wire.js';
import { estimateChatPromptTokens, estimateMessagesPromptTokens, estimateTextTokens } from '../api/token-estimate.js';
import { GatewayError } from '../errors/gateway-error.js';
import { chatUpstreamCall } from '../providers/parameter-policy.js';
import type { ProviderAdapter, ResponseContext, StreamTranslator, TargetInfo, UpstreamCall } from '../providers/types.js';
import type { RuntimeModel } from '../routing/runtime-types.js';
import { parseResponsesRequest, responsesParamFor } from '../api/parse-responses.js';
import { ChatToResponsesStream, completionToResponse } from '../api/responses-from-chat.js';
import { estimateUntranslatedInputTokens } from '../api/responses-token-estimate.js';
import { ClientStateStream, withClientState } from '../api/responses-echo.js';
import type { ResponseItem, ResponseObject, ResponsesApiRequest, ResponseStreamEvent } from '../api/responses-types.js';
import { messagesFinalUsage, openAiFinalUsage, responsesFinalUsage } from './cost-reply.js';
import { chatChunkHasContent, messagesEventHasContent, responsesEventHasContent, textChunkHasContent } from './first-content.js';

/** What every API request has, whatever its route. */
export interface OperationRequest {
  readonly model: string;
  readonly stream: boolean;
}

/**
 * One API operation (chat, legacy completions, embeddings): how to parse it, what to reserve
 * against token limits, and which adapter capability serves it. The pipeline is the same for all.
 */
export interface Operation<Req extends OperationRequest, Res, Chunk> {
  readonly route: string;
  /** `gen_ai.operation.name`. */
  readonly name: 'chat' | 'text_completion' | 'embeddings';
  /** Validates the body (and any headers the API defines); throws GatewayError (400). */
  parse(body: unknown, headers: Readonly<Record<string, string | string[] | undefined>>): Req;
  /**
   * Prompt tokens to reserve against a token limit: every prompt, schema and content part the
   * provider will bill, estimated generously (token-estimate.ts); token-id prompts by count.
   */
  promptTokens(request: Req): number;
  /** The prompt counted with the tokenizer, for providers that report no usage (slower; called lazily). */
  countPromptTokens?(request: Req): number;
  /** Output tokens to reserve against a token limit: every choice of every prompt at its max output. */
  outputReserve(request: Req, model: RuntimeModel): number;
  /** The upstream call; throws GatewayError(unsupported_parameter) when the provider lacks the capability. */
  upstreamCall(adapter: ProviderAdapter, request: Req, target: TargetInfo): UpstreamCall;
  /** The response for the client, its usage, and the model the upstream says served it (when it says). */
  decode(adapter: ProviderAdapter, request: Req, body: unknown, ctx: ResponseContext, target: TargetInfo): { value: Res; usage: UsageRecord; upstreamModel?: string | undefined };
  /** `request` and `target` say which of the adapter's protocols the call used (a native Responses call or its chat translation). */
  streamTranslator(adapter: ProviderAdapter, ctx: ResponseContext, request: Req, target: TargetInfo): StreamTranslator<Chunk>;
  /** Whether a stream chunk commits the stream (first-content.ts): more than an opening chunk. */
  hasContent(chunk: Chunk): boolean;
  /**
   * A refusal by the gateway itself before the request went anywhere (a token limit it can never
   * fit names `max_tokens`), in this API's parameter names; absent: as thrown.
   */
  inClientTerms?(err: unknown): unknown;
  /** The usage object of the stream's final usage chunk, if this chunk is it: the request's cost is added there. */
  finalUsage?(chunk: Chunk): Record<string, unknown> | undefined;
  /** The prompt's prefix blocks (routing/prefix.ts), for prefix-aware routing; absent: nothing to compare (embeddings). */
  prefixBlocks?(request: Req): readonly number[];
}

export const chatOperation: Operation<ChatRequest, ChatCompletion, ChatChunk> = {
  route: '/v1/chat/completions',
  name: 'chat',
  parse: parseChatRequest,
  promptTokens: estimateChatPromptTokens,
  countPromptTokens: (r) => countPromptTokens(r.messages),
  prefixBlocks: (r) => messagesPrefixBlocks(r.messages),
  outputReserve: (r, model) => r.n * (r.maxOutputTokens ?? model.defaultOutputReserve),
  upstreamCall: chatUpstreamCall,
  decode: (adapter, _r, body, ctx) => {
    const { completion, usage, upstreamModel } = adapter.chatResponse(body, ctx);
    return { value: completion, usage, upstreamModel };
  },
  streamTranslator: (adapter, ctx) => adapter.chatStream(ctx),
  hasContent: chatChunkHasContent,
  finalUsage: openAiFinalUsage,
};

export const completionsOperation: Operation<CompletionsRequest, TextCompletion, TextCompletion> = {
  route: '/v1/completions',
  name: 'text_completion',
  parse: parseCompletionsRequest,
  promptTokens: (r) => suffixTokens(r) + (r.prompts ? r.prompts.reduce((sum, p) => sum + estimateTextTokens(p), 0) : r.promptTokenIds),
  countPromptTokens: (r) => suffixTokens(r) + (r.prompts ? countTextsTokens(r.prompts) : r.promptTokenIds),
  prefixBlocks: (r) => (r.prompts?.length === 1 ? textPrefixBlocks(r.prompts[0]!) : []),
  // Each prompt gets its own `best_of` (≥ n) completions, all billed.
  outputReserve: (r) => r.promptCount * r.choicesPerPrompt * (r.maxOutputTokens ?? 16),
  upstreamCall: (adapter, r, target) => capability(adapter, adapter.completionsRequest, 'legacy completions').call(adapter, r, target),
  decode: (adapter, _r, body, ctx) => {
    const { completion, usage, upstreamModel } = capability(adapter, adapter.completionsResponse, 'legacy completions').call(adapter, body, ctx);
    return { value: completion, usage, upstreamModel };
  },
  streamTranslator: (adapter, ctx) => capability(adapter, adapter.completionsStream, 'legacy completions').call(adapter, ctx),
  hasContent: textChunkHasContent,
  finalUsage: openAiFinalUsage,
};

export const embeddingsOperation: Operation<EmbeddingsRequest & OperationRequest, EmbeddingsResponse, never> = {
  route: '/v1/embeddings',
  name: 'embeddings',
  parse: (body) => ({ ...parseEmbeddingsRequest(body), stream: false }),
  promptTokens: (r) => (r.texts ? r.texts.reduce((sum, t) => sum + estimateTextTokens(t), 0) : r.inputTokenIds),
  countPromptTokens: (r) => (r.texts ? countTextsTokens(r.texts) : r.inputTokenIds),
  outputReserve: () => 0,
  upstreamCall: (adapter, r, target) => capability(adapter, adapter.embeddingsRequest, 'embeddings').call(adapter, r, target),
  decode: (adapter, r, body, ctx) => {
    const embeddingsContext = { model: ctx.model, encodingFormat: r.encodingFormat, promptTokensEstimate: ctx.promptTokensEstimate };
    const { response, usage } = capability(adapter, adapter.embeddingsResponse, 'embeddings').call(adapter, body, embeddingsContext);
    return { value: response, usage };
  },
  streamTranslator: () => {
    throw new GatewayError('invalid_request', 'Embeddings cannot be streamed.', { param: 'stream' });
  },
  hasContent: () => true,
};

/**
 * Anthropic's `POST /v1/messages`, served by any deployment: natively by one that speaks the
 * Messages API, otherwise through our chat translation and back (protocols.md §2.6–2.8).
 */
export const messagesOperation: Operation<MessagesApiRequest, AnthropicMessage, AnthropicStreamEvent> = {
  route: '/v1/messages',
  name: 'chat',
  parse: (body, headers) => parseMessagesRequest(body, headers['anthropic-beta']),
  // The native body, not its chat translation, which leaves out what it cannot express.
  promptTokens: (r) => estimateMessagesPromptTokens(r.native),
  countPromptTokens: (r) => countPromptTokens(r.chat.messages),
  prefixBlocks: (r) => messagesPrefixBlocks(r.chat.messages),
  outputReserve: (r) => r.chat.maxOutputTokens ?? 0,
  upstreamCall: (adapter, r, target) => {
    // Betas only switch Anthropic features on; for other providers any feature they enable
    // shows up in the body, where it is refused by name.
    if (adapter.messagesRequest) return adapter.messagesRequest(r.native, target, r.stream, r.betas);
    if (r.untranslatable !== undefined) {
      throw new GatewayError('unsupported_parameter', `'${r.untranslatable}' is Anthropic-only and this model is served by a '${adapter.dialect}' deployment.`, { param: r.untranslatable });
    }
    return chatUpstreamCall(adapter, r.chat, target);
  },
  decode: (adapter, _r, body, ctx) => {
    if (adapter.messagesResponse) return adapter.messagesResponse(body, ctx);
    const { completion, usage, upstreamModel } = adapter.chatResponse(body, ctx);
    return { value: completionToMessage(completion, usage, ctx), usage, upstreamModel };
  },
  streamTranslator: (adapter, ctx) => (adapter.messagesStream ? adapter.messagesStream(ctx) : new ChatToMessagesStream(adapter.chatStream(ctx), ctx)),
  hasContent: messagesEventHasContent,
  finalUsage: messagesFinalUsage,
};

/**
 * OpenAI's `POST /v1/responses`, served by any deployment: natively by one that serves the
 * Responses API (`TargetInfo.responsesApi`), otherwise through our chat translation and back.
 * `prior` holds the stored items a `previous_response_id` expands to (oldest first); without
 * it (no response store) a request naming a previous response is refused.
 */
export function responsesOperation(prior?: readonly ResponseItem[]): Operation<ResponsesApiRequest, ResponseObject, ResponseStreamEvent> {
  return {
    route: '/v1/responses',
    name: 'chat',
    parse: (body) => {
      const r = parseResponsesRequest(body, prior);
      if (prior === undefined && r.previousResponseId !== undefined) {
        throw new GatewayError('invalid_request', "'previous_response_id' cannot be used here: this gateway keeps no stored responses.", { param: 'previous_response_id' });
      }
      return r;
    },
    // The chat form holds every message and function schema; what only the native body carries
    // (built-in tools, reasoning and other items, file parts) is counted from it.
    promptTokens: (r) => estimateChatPromptTokens(r.chat) + builtInToolTokens(r) + estimateUntranslatedInputTokens(Array.isArray(r.native.input) ? r.native.input : []),
    countPromptTokens: (r) => countPromptTokens(r.chat.messages),
    prefixBlocks: (r) => messagesPrefixBlocks(r.chat.messages),
    outputReserve: (r, model) => r.chat.maxOutputTokens ?? model.defaultOutputReserve,
    upstreamCall: (adapter, r, target) => {
      if (servesNatively(adapter, target)) return adapter.responsesRequest!(r.native, target, r.stream);
      if (r.untranslatable !== undefined) {
        throw new GatewayError('unsupported_parameter', `'${r.untranslatable}' cannot be translated for this model, which is served by a '${adapter.dialect}' deployment without the Responses API.`, { param: r.untranslatable });
      }
      try {
        return chatUpstreamCall(adapter, r.chat, target);
      } catch (err) {
        throw inResponsesTerms(err);
      }
    },
    decode: (adapter, r, body, ctx, target) => {
      if (servesNatively(adapter, target) && adapter.responsesResponse) {
        const native = adapter.responsesResponse(body, ctx);
        return { ...native, value: withClientState(native.value, r) };
      }
      const { completion, usage, upstreamModel } = adapter.chatResponse(body, ctx);
      return { value: completionToResponse(completion, usage, ctx, r), usage, upstreamModel };
    },
    streamTranslator: (adapter, ctx, r, target) => {
      if (servesNatively(adapter, target) && adapter.responsesStream) return new ClientStateStream(adapter.responsesStream(ctx), r);
      return new ChatToResponsesStream(adapter.chatStream(ctx), ctx, r);
    },
    hasContent: responsesEventHasContent,
    finalUsage: responsesFinalUsage,
    inClientTerms: inResponsesTerms,
  };
}

function builtInToolTokens(r: ResponsesApiRequest): number {
  const tools = r.native.tools;
  if (!Array.isArray(tools)) return 0;
  const builtIn = tools.filter((t: unknown) => (t as { type?: unknown }).type !== 'function');
  return builtIn.length === 0 ? 0 : estimateTextTokens(JSON.stringify(builtIn));
}

/** The deployment serves `/v1/responses` itself and its adapter speaks it: the request goes as it came. */
function servesNatively(adapter: ProviderAdapter, target: TargetInfo): boolean {
  return target.responsesApi === true && adapter.responsesRequest !== undefined;
}

/** A chat parameter a provider refused, renamed to the Responses parameter the client wrote. */
function inResponsesTerms(err: unknown): unknown {
  if (!(err instanceof GatewayError) || err.param == null) return err;
  const head = err.param.split(/[.[]/, 1)[0] ?? err.param;
  const renamed = responsesParamFor[head];
  if (renamed === undefined) return err;
  const param = renamed + err.param.slice(head.length);
  // Everything but the name is kept: status, Retry-After and the rate-limit headers of a refusal.
  const message = err.message.replace(new RegExp(`\\b${head}\\b`, 'g'), renamed);
  return new GatewayError(err.code, message, {
    param,
    status: err.status,
    type: err.type,
    publicCode: err.publicCode,
    ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
    ...(err.headers === undefined ? {} : { headers: err.headers }),
    ...(err.cause === undefined ? {} : { cause: err.cause }),
  });
}

/** The legacy `suffix` (text after the insertion point) is prompt too. */
function suffixTokens(r: CompletionsRequest): number {
  const suffix = r.body.suffix;
  return typeof suffix === 'string' ? estimateTextTokens(suffix) : 0;
}

/** The adapter's method for a capability, or a 400 naming what the provider cannot do. */
function capability<F>(adapter: ProviderAdapter, method: F | undefined, what: string): F {
  if (method === undefined) {
    throw new GatewayError('unsupported_parameter', `This model is served by a '${adapter.dialect}' deployment, which does not support ${what}.`, { param: 'model' });
  }
  return method;
}
