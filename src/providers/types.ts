import type { ChatChunk, ChatCompletion, ChatRequest, UsageRecord } from '../api/chat-types.js';
import type { OpenAiErrorType } from '../errors/catalog.js';
import type { SseEvent } from '../upstream/sse-event.js';

/** The wire protocols the gateway can speak to an upstream. */
export type Dialect = 'openai' | 'triton';

/** What an adapter needs to know about where a request is going (no secrets in here). */
export interface TargetInfo {
  /** The model name the upstream knows (not the client's alias). */
  readonly upstreamModel: string;
  /** Path prefix of the deployment's base URL, e.g. "/v1" for "https://api.openai.com/v1". */
  readonly basePath: string;
}

/** A description of one upstream HTTP call; `upstream/` adds credentials and sends it. */
export interface UpstreamCall {
  readonly method: 'POST' | 'GET';
  /** Absolute path on the deployment's origin, including the base path. */
  readonly path: string;
  /** Non-secret headers (content-type, accept). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
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
}

/** A normalised upstream error: what the client may see, with secrets already scrubbed. */
export interface UpstreamErrorInfo {
  readonly message: string;
  readonly type: OpenAiErrorType;
  /** The provider's error code as a string, when it gave one. */
  readonly code: string | null;
  readonly param: string | null;
}

/** What a translated stream event produced. */
export interface StreamStep {
  /** Chunks to send to the client, in order (may be empty). */
  readonly chunks: readonly ChatChunk[];
  /** True once the upstream signalled a clean end (OpenAI `[DONE]`). */
  readonly done: boolean;
  /** An error the upstream reported inside the stream. */
  readonly error?: UpstreamErrorInfo;
}

/**
 * Per-request stream translator: owns its state (ids, tool-call indexes, usage) and turns
 * upstream SSE events into OpenAI chunks. Pure: no I/O, no clock.
 */
export interface StreamTranslator {
  /** Translates one upstream event. Throws UpstreamProtocolError on malformed payloads. */
  onEvent(event: SseEvent): StreamStep;
  /**
   * Called when the upstream body ended. For protocols that end by closing (Triton) this
   * returns the final chunks; for protocols with an explicit end (OpenAI) an end without it
   * is a truncation and this throws UpstreamProtocolError.
   */
  onEnd(): StreamStep;
  /** Usage so far: reported by the provider, or estimated from what streamed. */
  usage(): UsageRecord;
}

/** A provider adapter translates and does nothing else: no network, env, clock or logging. */
export interface ProviderAdapter {
  readonly dialect: Dialect;
  /** Builds the upstream call for a chat request. Throws GatewayError for unsupported parameters. */
  chatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall;
  /** Turns a non-streaming upstream body into our completion. Throws UpstreamProtocolError. */
  chatResponse(body: unknown, ctx: ResponseContext): { completion: ChatCompletion; usage: UsageRecord };
  /** A new translator for one streaming response. */
  chatStream(ctx: ResponseContext): StreamTranslator;
  /** Normalises an upstream error body (already parsed as JSON if it was JSON, else a string). */
  errorInfo(status: number, body: unknown): UpstreamErrorInfo;
}

/** The upstream answered with something that does not follow its protocol. */
export class UpstreamProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamProtocolError';
  }
}
