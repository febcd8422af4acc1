import type { Principal } from '../auth/principal.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { Priority } from '../queue/priority.js';

/**
 * How the pipeline answers, without knowing the web framework or the API dialect. `http/`
 * implements it over a Node response, in OpenAI's format or (for /v1/messages) Anthropic's.
 */
export interface ChatReply {
  /**
   * Sends a complete JSON response. May return a promise that settles once the body is written
   * (large bodies), rejecting if the client stopped reading; await it before recording success.
   */
  json(status: number, body: unknown, headers: Readonly<Record<string, string>>): void | Promise<void>;
  /** Sends an error response; only valid before anything else was sent. */
  error(err: GatewayError, headers: Readonly<Record<string, string>>): void;
  /** Commits a 200 `text/event-stream` response (the commit point) and returns its writer. */
  openStream(headers: Readonly<Record<string, string>>): StreamWriter;
}

export interface StreamWriter {
  /**
   * Writes chunks as SSE events, respecting back-pressure: resolves once the socket can take
   * more, rejects if the client went away or stopped reading for longer than the stall timeout.
   */
  write(chunks: readonly unknown[]): Promise<void>;
  /** Ends a committed stream with one error event and no `[DONE]`. */
  fail(err: GatewayError): void;
  /** Ends a complete stream (OpenAI: `data: [DONE]`; Anthropic: nothing after message_stop). */
  done(): void;
}

/** What the edge hands the pipeline for one request. */
export interface RequestContext {
  readonly requestId: string;
  /** The `Authorization` header, as sent (on `/v1/messages`, an `x-api-key` is passed as a Bearer value). */
  readonly authorization: string | undefined;
  /** The route also takes the key as `x-api-key` (`/v1/messages`); only changes the 401 text. */
  readonly acceptsXApiKey?: boolean;
  /** Request headers an operation may read (e.g. `anthropic-beta` on /v1/messages); lower-case names. */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** The JSON body, parsed once at the edge. */
  readonly body: unknown;
  /**
   * The edge's controller for this request, its only one: aborted with ClientGoneError when the
   * client disconnects before the response is complete, or with ShuttingDownError when a drain's
   * grace period ends (the client then gets an answer). The pipeline arms the request deadline on
   * it (DeadlineExceededError) rather than creating a second controller that follows the first:
   * two per request were a measurable share of the hot path.
   */
  readonly controller: AbortController;
  /** Monotonic ms when the request arrived. */
  readonly startMs: number;
  /**
   * Set by in-process callers (the batch runner) whose caller was authenticated earlier: the
   * request runs as this principal and `authorization` is not read.
   */
  readonly principal?: Principal;
  /** Set by in-process callers: the request's priority class, whatever its headers say (batch items: `low`). */
  readonly priority?: Priority;
}
