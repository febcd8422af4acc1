// The adapter contract every provider folder implements; the folder template is in README.md beside this file.
import type { ChatChunk, ChatCompletion, ChatRequest, UsageRecord } from '../api/chat-types.js';
import type { CompletionsRequest, TextCompletion } from '../api/completions-types.js';
import type { EmbeddingsRequest, EmbeddingsResponse } from '../api/embeddings-types.js';
import type { OpenAiErrorType } from '../errors/catalog.js';
import type { StreamFraming } from '../upstream/framing.js';
import type { AnthropicMessage, AnthropicStreamEvent } from './anthropic/wire.js';
import type { ResponseObject, ResponseStreamEvent } from '../api/responses-types.js';
import type { SseEvent } from '../upstream/sse-event.js';
import type { ParameterPolicy } from './parameter-policy.js';

/** The wire protocols the gateway can speak to an upstream. */
export type Dialect = 'openai' | 'azure' | 'anthropic' | 'gemini' | 'ollama' | 'bedrock' | 'triton';

/** What an adapter needs to know about where a request is going (no secrets in here). */
export interface TargetInfo {
  /** The model name the upstream knows (not the client's alias). */
  readonly upstreamModel: string;
  /** Path prefix of the deployment's base URL, e.g. "/v1" for "https://api.openai.com/v1". */
  readonly basePath: string;
  /** Provider API version when the deployment pins one (Azure `api-version`). */
  readonly apiVersion?: string;
  /** Output-token cap to send when the client set none, for providers that require one (Anthropic). */
  readonly defaultMaxTokens?: number;
  /** The deployment serves OpenAI's `/v1/responses` itself (deployment `responsesApi`); otherwise Responses requests are translated to chat. */
  readonly responsesApi?: boolean;
}

/** A description of one upstream HTTP call; `upstream/` adds credentials and sends it. */
export interface UpstreamCall {
  readonly method: 'POST' | 'GET';
  /** Absolute path on the deployment's origin, including the base path. */
  readonly path: string;
  /** Non-secret headers (content-type, accept). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Chat parameters the client set that this provider ignores (its policy says why); absent when none. */
  readonly ignoredParams?: readonly string[];
}

/** Context for turning an upstream answer into our response. */
export interface ResponseContext {
  /** Our completion id, shared by every chunk of a stream. */
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  /** The model name shown to the client (the alias that served the request). */
  readonly model: string;
  /** Whether the client asked for the final usage chunk. */
  readonly includeUsage: boolean;
  /** Estimated prompt tokens, used when the provider reports no usage. */
  readonly promptTokensEstimate: number;
  /**
   * Counts the prompt with the tokenizer (memoised). Costs CPU, so only adapters whose provider
   * reports no usage call it; when absent they use `promptTokensEstimate`.
   */
  readonly countPromptTokens?: () => number;
}

/** A normalised upstream error: what the client may see, with secrets already scrubbed. */
export interface UpstreamErrorInfo {
  readonly message: string;
  readonly type: OpenAiErrorType;
  /** The provider's error code as a string, when it gave one. */
  readonly code: string | null;
  readonly param: string | null;
  /** A wait the provider asked for inside its error body (Gemini's RetryInfo), in ms; headers win. */
  readonly retryAfterMs?: number;
  /**
   * The provider refused the gateway's own credentials under a status other than 401/403
   * (Gemini answers a bad API key with 400 API_KEY_INVALID): not the client's fault.
   */
  readonly credentialsRejected?: boolean;
  /**
   * For an error reported inside a stream: the HTTP status the provider gives the same error as
   * a plain response (a Bedrock `throttlingException` is a 429), so a failure before the commit
   * point is classified like one. Absent: treated as a 500.
   */
  readonly status?: number;
}

/** Reads one upstream response header (lower-case name); the first value when repeated. */
export type HeaderReader = (name: string) => string | undefined;

/** What a translated stream event produced. */
export interface StreamStep<C = ChatChunk> {
  /** Chunks to send to the client, in order (may be empty). */
  readonly chunks: readonly C[];
  /** True once the upstream signalled a clean end (OpenAI `[DONE]`). */
  readonly done: boolean;
  /** An error the upstream reported inside the stream. */
  readonly error?: UpstreamErrorInfo;
}

/**
 * Per-request stream translator: owns its state (ids, tool-call indexes, usage) and turns
 * upstream events (SSE, NDJSON lines or AWS event-stream messages, all decoded to SseEvent)
 * into OpenAI chunks. Pure: no I/O, no clock.
 */
export interface StreamTranslator<C = ChatChunk> {
  /** Translates one upstream event. Throws UpstreamProtocolError on malformed payloads. */
  onEvent(event: SseEvent): StreamStep<C>;
  /**
   * Called when the upstream body ended. For protocols that end by closing (Triton) this
   * returns the final chunks; for protocols with an explicit end (OpenAI) an end without it
   * is a truncation and this throws UpstreamProtocolError.
   */
  onEnd(): StreamStep<C>;
  /** Usage so far: reported by the provider, or estimated from what streamed. */
  usage(): UsageRecord;
  /** The model the upstream says is serving, once an event said it (see reportedModel); optional. */
  upstreamModel?(): string | undefined;
}

/** Context for an embeddings response. */
export interface EmbeddingsContext {
  /** The model name shown to the client (the alias that served the request). */
  readonly model: string;
  /** The encoding the client asked for; adapters of float-only providers must encode base64 themselves. */
  readonly encodingFormat: 'float' | 'base64';
  readonly promptTokensEstimate: number;
}

/**
 * A provider adapter translates and does nothing else: no network, env, clock or logging.
 * Chat is required; embeddings and legacy completions are optional capabilities (a route whose
 * capability the serving provider lacks answers 400 naming the provider).
 */
export interface ProviderAdapter {
  readonly dialect: Dialect;
  /** How streamed bodies are framed. */
  readonly streamFraming: StreamFraming;
  /**
   * What this provider does with each OpenAI chat parameter (translated, ignored, refused),
   * enforced by `chatUpstreamCall` before `chatRequest` runs.
   */
  readonly chatParameters: ParameterPolicy;
  /**
   * Builds the upstream call for a chat request whose fields passed `chatParameters`. Throws
   * GatewayError for values the provider cannot express. Call it through `chatUpstreamCall`.
   */
  chatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall;
  /**
   * Turns a non-streaming upstream body into our completion (whose `model` is ctx.model, the
   * alias), with the model the upstream says served it when it says (see reportedModel).
   * Throws UpstreamProtocolError.
   */
  chatResponse(body: unknown, ctx: ResponseContext): { completion: ChatCompletion; usage: UsageRecord; upstreamModel?: string | undefined };
  /** A new translator for one streaming response. */
  chatStream(ctx: ResponseContext): StreamTranslator;
  /**
   * Normalises an upstream error body (already parsed as JSON if it was JSON, else a string).
   * `header` reads the response headers, for providers that put the error type there (Bedrock's
   * `x-amzn-errortype`).
   */
  errorInfo(status: number, body: unknown, header?: HeaderReader): UpstreamErrorInfo;

  embeddingsRequest?(request: EmbeddingsRequest, target: TargetInfo): UpstreamCall;
  embeddingsResponse?(body: unknown, ctx: EmbeddingsContext): { response: EmbeddingsResponse; usage: UsageRecord };

  /** Legacy `/v1/completions`; its stream chunks are `text_completion` objects. */
  completionsRequest?(request: CompletionsRequest, target: TargetInfo): UpstreamCall;
  completionsResponse?(body: unknown, ctx: ResponseContext): { completion: TextCompletion; usage: UsageRecord; upstreamModel?: string | undefined };
  completionsStream?(ctx: ResponseContext): StreamTranslator<TextCompletion>;

  /**
   * Anthropic's Messages API spoken natively, for `/v1/messages`: the client's validated body in,
   * the upstream's message and events out, without a round trip through OpenAI's shape.
   */
  messagesRequest?(native: Readonly<Record<string, unknown>>, target: TargetInfo, stream: boolean, betas: string | undefined): UpstreamCall;
  messagesResponse?(body: unknown, ctx: ResponseContext): { value: AnthropicMessage; usage: UsageRecord };
  messagesStream?(ctx: ResponseContext): StreamTranslator<AnthropicStreamEvent>;

  /**
   * The provider's own token counter for a Messages request (Anthropic's
   * `/v1/messages/count_tokens`): the validated count body (no `max_tokens`) in, the call out.
   * Absent: `/v1/messages/count_tokens` is answered by the gateway's tokenizer (an estimate).
   */
  messagesCountRequest?(native: Readonly<Record<string, unknown>>, target: TargetInfo, betas: string | undefined): UpstreamCall;
  /**
   * OpenAI's `/v1/responses/input_tokens` on a deployment that serves the Responses API natively
   * (`TargetInfo.responsesApi`): the count body in, the call out; undefined where this
   * deployment has no count endpoint.
   */
  responsesCountRequest?(native: Readonly<Record<string, unknown>>, target: TargetInfo): UpstreamCall | undefined;
  /**
   * The provider's own token counter for a request in chat form (Gemini's `:countTokens`), for
   * the count endpoints whose request translates to chat without loss.
   */
  chatCountRequest?(request: ChatRequest, target: TargetInfo): UpstreamCall;
  /**
   * The count in the provider's answer to one of the count calls above (`input_tokens`, Gemini's `totalTokens`).
   * Throws UpstreamProtocolError when the body has none.
   */
  countTokensResponse?(body: unknown): number;

  /**
   * OpenAI's Responses API spoken natively, for `/v1/responses` on a deployment that serves it
   * (`TargetInfo.responsesApi`): the validated body (history already expanded, `store: false`)
   * in, the upstream's response object and events out with the gateway's response id and the
   * alias as `model`. Absent, or the deployment does not serve it: the chat translation is used.
   */
  responsesRequest?(native: Readonly<Record<string, unknown>>, target: TargetInfo, stream: boolean): UpstreamCall;
  responsesResponse?(body: unknown, ctx: ResponseContext): { value: ResponseObject; usage: UsageRecord; upstreamModel?: string | undefined };
  responsesStream?(ctx: ResponseContext): StreamTranslator<ResponseStreamEvent>;
}

/** The upstream answered with something that does not follow its protocol. */
export class UpstreamProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamProtocolError';
  }
}
