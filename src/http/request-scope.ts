import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.js';
import { GatewayError, toGatewayError } from '../errors/gateway-error.js';
import type { RequestOutcome } from '../observability/events.js';
import { handleCountTokens, type CountOperation } from '../pipeline/count-tokens.js';
import { handleRequest } from '../pipeline/handle-request.js';
import type { Operation, OperationRequest } from '../pipeline/operations.js';
import type { ChatReply, RequestContext, StreamWriter } from '../pipeline/reply.js';
import { outcomeForError } from '../pipeline/request-record.js';
import { ClientGoneError } from '../resilience/abort-reasons.js';
import type { HttpRuntime, HttpDeps } from './edge-deps.js';
import { pieceChars, writeInPieces, writePiece } from './body-writer.js';
import { errorHeaders, errorPayload, type ErrorSurface } from './error-response.js';
import { newRequestId } from './request-id.js';
import { traceIdOf } from '../observability/trace-context.js';
import { surfaces, type ApiSurface, type Route } from './routes.js';
import { anthropicSse, openAiSse, responsesSse, SseWriter, sseHeaders, type SseFormat } from './sse-writer.js';

/** How a route runs its operation when it did part of the work itself (stored responses). */
export interface RunOptions {
  /** The caller, already authenticated by the route: the pipeline does not authenticate again. */
  readonly principal?: Principal;
  /** Answers through this instead of the scope itself (a wrapper that ends in the scope). */
  readonly reply?: ChatReply;
}

/** The scope of the request a response belongs to (set on the response; read by shared listeners). */
export const scopeOf: unique symbol = Symbol('llm-gateway.requestScope');

declare module 'node:http' {
  interface ServerResponse {
    [scopeOf]?: RequestScope;
  }
}

const jsonType = 'application/json; charset=utf-8';
/**
 * Where each surface's SDKs read the request id they expose as `_request_id` (and put in their
 * logs and error messages): OpenAI's `x-request-id`, Anthropic's `request-id`. The same id as
 * `x-gateway-request-id`, so a client's report finds the log line.
 */
const clientRequestIdHeader: Readonly<Record<ErrorSurface, string>> = { openai: 'x-request-id', anthropic: 'request-id' };

/**
 * Everything the edge knows about one request, from its arrival to its one recorded outcome:
 * the request id, the matched route and its API surface, the body, the one AbortController the
 * pipeline shares, the runtime lease, and who records the outcome (the pipeline for operations,
 * the edge for every other answer, refusals included). It is also the pipeline's ChatReply, so
 * JSON replies, SSE streams and errors all leave through it. One object per request, methods
 * instead of per-request closures.
 */
export class RequestScope implements ChatReply {
  readonly requestId: string;
  readonly startMs: number;
  /** The table path matched (`/v1/models/{model}`), or `unmatched`: the `route` metric label. */
  routeLabel = 'unmatched';
  route: Route | undefined;
  /** The API surface of the matched path (OpenAI's when nothing matched). */
  surface: ApiSurface = surfaces.openai;
  params: readonly string[] = [];
  body: unknown;
  #controller: AbortController | undefined;
  #lease: { readonly runtime: HttpRuntime; release(): void } | undefined;
  /** The outcome was recorded (by the edge) or handed to the pipeline, which records it. */
  #recorded = false;
  #pipelineRecords = false;

  constructor(
    readonly deps: HttpDeps,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    this.startMs = deps.clock.nowMs();
    this.requestId = newRequestId(deps.clock.wallMs());
    res[scopeOf] = this;
    res.once('close', onResponseClose);
    deps.inFlight.track(res);
  }

  /** The runtime this request runs on, leased on first use and released when the request ends. */
  get runtime(): HttpRuntime {
    return (this.#lease ??= this.deps.acquire()).runtime;
  }

  /** The caller's key as an Authorization value, from the headers the route's API surface accepts. */
  get authorization(): string | undefined {
    const authorization = this.req.headers.authorization;
    if (!this.surface.acceptsXApiKey || (authorization !== undefined && authorization !== '')) return authorization;
    const key = this.req.headers['x-api-key'];
    return typeof key === 'string' && key !== '' ? `Bearer ${key}` : authorization;
  }

  /** Runs the matched route's handler; anything it throws is answered (a generic 500 if unexpected). */
  async run(): Promise<void> {
    try {
      await (this.route as Route).handler(this);
    } catch (err) {
      this.fail(err);
    } finally {
      this.#lease?.release();
    }
  }

  /**
   * Runs an API operation through the pipeline, which records its outcome. The edge's controller
   * is the request's only one: the client's disconnect, the drain and the deadline abort it.
   */
  async runOperation(op: Operation<OperationRequest, unknown, unknown>, options: RunOptions = {}): Promise<void> {
    const ctx = this.#pipelineContext(options.principal);
    if (ctx) await handleRequest(this.runtime.pipeline, op, ctx, options.reply ?? this);
    this.#afterPipeline();
  }

  /** Runs a token-counting endpoint (pipeline/count-tokens.ts) on the same terms as an operation. */
  async runCount<Req extends { readonly model: string }>(op: CountOperation<Req>, options: { readonly principal?: Principal } = {}): Promise<void> {
    const ctx = this.#pipelineContext(options.principal);
    if (ctx) await handleCountTokens(this.runtime.pipeline, op, ctx, this);
    this.#afterPipeline();
  }

  /**
   * The pipeline's context, from which on the pipeline records the outcome (it never throws).
   * Undefined when the edge has recorded the request already: a route that awaited first (stored
   * responses read the conversation) may find its client gone and the 499 recorded, and running
   * now would call the upstream for nobody and record twice.
   */
  #pipelineContext(principal: Principal | undefined): RequestContext | undefined {
    if (this.#recorded) return undefined;
    const controller = (this.#controller = new AbortController());
    this.deps.inFlight.attach(this.res, controller);
    this.#pipelineRecords = true;
    const ctx = { requestId: this.requestId, authorization: this.authorization, acceptsXApiKey: this.surface.acceptsXApiKey, headers: this.req.headers, body: this.body, controller, startMs: this.startMs };
    // A route that authenticated the caller first (to load its stored conversation) passes it on.
    return principal ? { ...ctx, principal } : ctx;
  }

  /** The client left before we answered: nothing to send, release the socket. */
  #afterPipeline(): void {
    if (!this.res.headersSent) this.res.destroy();
  }

  /** Answers an unexpected throw: logged whole with the request id, answered as a generic 500. */
  fail(err: unknown): void {
    if (!(err instanceof GatewayError)) this.deps.onInternalError(err, this.requestId);
    this.error(toGatewayError(err), {});
  }

  /**
   * Sends a JSON response. A large body is written in pieces and the returned promise settles
   * when the kernel has taken the last one; it rejects (WriteStalledError, the request's signal
   * aborted) when the client stopped reading for the stall timeout, so the pipeline records a
   * client_disconnect rather than a success.
   */
  json(status: number, body: unknown, headers: Readonly<Record<string, string>>): void | Promise<void> {
    const sent = this.send(status, headers, jsonType, JSON.stringify(body));
    // A handler's own JSON answer is a success even with a 5xx (/ready while draining); errors go through error().
    if (this.route?.quiet !== true) this.#recordByEdge(status, 'success', undefined);
    return sent;
  }

  error(err: GatewayError, headers: Readonly<Record<string, string>>): void {
    const res = this.res;
    if (res.headersSent || res.destroyed) return;
    const surface = this.surface.errors;
    void this.send(err.status, errorHeaders(err, headers), undefined, errorPayload(err, surface, surface === 'anthropic' ? this.requestId : undefined))?.catch(noop);
    this.#recordByEdge(err.status, outcomeForError(err), err.code);
  }

  /** A non-JSON body (/metrics, the audit export with its `x-next-cursor`). */
  text(status: number, contentType: string, text: string, headers: Readonly<Record<string, string>> = {}): void {
    void this.send(status, headers, contentType, text)?.catch(noop);
    if (this.route?.quiet !== true) this.#recordByEdge(status, 'success', undefined);
  }

  /**
   * Sends a body made as it is sent (no Content-Length: chunked), one piece at a time under the
   * write-stall bound and the shared budget of bytes in flight, so a large body is never in
   * memory whole and a client that stops reading holds at most one piece. Recorded once the last
   * piece is flushed; a client gone first is recorded by the close. A failure to make the rest
   * (the database went away) ends the response short, logged, recorded as internal_error.
   */
  async stream(status: number, headers: Record<string, string>, pieces: AsyncIterable<string>): Promise<void> {
    headers['x-gateway-request-id'] = this.requestId;
    const res = this.res;
    res.writeHead(status, headers);
    try {
      for await (const piece of pieces) await writePiece(res, piece, this.deps.outputBudget, this.deps.limits.stallTimeoutMs);
    } catch (err) {
      if (!(err instanceof ClientGoneError)) {
        this.deps.onInternalError(err, this.requestId);
        this.recordOutcome(500, 'internal_error', 'internal_error');
      }
      if (!res.destroyed) res.destroy();
      return;
    }
    res.end();
    this.recordOutcome(status, 'success', undefined);
  }

  openStream(headers: Readonly<Record<string, string>>): StreamWriter {
    const head: Record<string, string> = { ...headers, ...sseHeaders, 'x-gateway-request-id': this.requestId };
    head[clientRequestIdHeader[this.surface.errors]] = this.requestId;
    this.res.writeHead(200, head);
    return new SseWriter(this.res, this.deps.limits.stallTimeoutMs, sseFormatFor(this.surface.events));
  }

  /**
   * Writes a complete response: the caller's headers, then `contentType` and the gateway's own,
   * each replacing a same-named one in place (as assigning them to a copy of the object did).
   * They go to writeHead as one flat list, built once: a copy of the object per header added
   * (one with a dozen keys turns into a slow dictionary) was a large share of a reply's garbage.
   * Every response has a write-stall bound (see body-writer.ts): a small body is written at once
   * and, if the socket could not take it all, the connection is closed when the client reads
   * nothing for the stall timeout; a large one is written in pieces under the global budget of
   * bytes in flight, and the returned promise follows it.
   */
  send(status: number, headers: Readonly<Record<string, string>>, contentType: string | undefined, text: string): void | Promise<void> {
    const head: string[] = [];
    for (const name in headers) head.push(name, headers[name]!);
    if (contentType !== undefined) setHeader(head, 'content-type', contentType);
    setHeader(head, 'x-gateway-request-id', this.requestId);
    setHeader(head, clientRequestIdHeader[this.surface.errors], this.requestId);
    setHeader(head, 'content-length', String(Buffer.byteLength(text)));
    const res = this.res;
    res.writeHead(status, head);
    if (text.length > pieceChars) return this.#sendInPieces(text);
    res.end(text);
    // Left in the process because the client's window is full: bound how long it may stay.
    // Node replaces this socket timeout with keepAliveTimeoutMs once the response is flushed.
    const socket = res.socket;
    if (socket !== null && socket.writableLength > 0) socket.setTimeout(this.deps.limits.stallTimeoutMs);
  }

  async #sendInPieces(text: string): Promise<void> {
    try {
      await writeInPieces(this.res, text, this.deps.outputBudget, this.deps.limits.stallTimeoutMs);
    } catch (err) {
      // The pipeline must see the client as gone, not a success: abort before it resumes.
      this.#controller?.abort(err instanceof ClientGoneError ? err : new ClientGoneError());
      if (!this.res.destroyed) this.res.destroy();
      throw err;
    }
  }

  /**
   * Records an outcome the edge decided (a refusal before the pipeline, a probe, the models
   * list, a timeout seen by Node's parser, a client gone mid-upload). Once per request.
   */
  recordOutcome(status: number, outcome: RequestOutcome, errorCode: string | undefined): void {
    if (this.#recorded) return;
    this.#recorded = true;
    const durationMs = this.deps.clock.nowMs() - this.startMs;
    this.deps.events.requestFinished({
      requestId: this.requestId,
      route: this.routeLabel,
      operation: this.route?.operation,
      tenant: undefined,
      model: 'unknown',
      servedModel: undefined,
      deployment: undefined,
      attempts: 0,
      status,
      outcome,
      errorCode,
      stream: false,
      durationMs,
      timeToFirstTokenMs: undefined,
      upstreamMs: 0,
      usage: undefined,
      upstream: undefined,
      // The edge's own answers trace nothing, but a client's trace id still goes in the log.
      traceId: traceIdOf(this.req.headers.traceparent),
    });
  }

  #recordByEdge(status: number, outcome: RequestOutcome, errorCode: string | undefined): void {
    if (!this.#pipelineRecords) this.recordOutcome(status, outcome, errorCode);
  }

  /** The response closed: a request still running is aborted; one still uploading is recorded as gone. */
  onClose(): void {
    if (this.res.writableFinished) return;
    if (this.#pipelineRecords) {
      this.#controller?.abort(new ClientGoneError());
      return;
    }
    this.recordOutcome(499, 'client_disconnect', undefined);
  }
}

function noop(): void {}

function onResponseClose(this: ServerResponse): void {
  this[scopeOf]?.onClose();
}

/** The stream framing of a surface; a Responses stream numbers its events, so it gets a fresh format. */
function sseFormatFor(events: ApiSurface['events']): SseFormat {
  if (events === 'anthropic') return anthropicSse;
  if (events === 'responses') return responsesSse();
  return openAiSse;
}

/** Sets a header in a flat [name, value, …] list: replaces the value of the same name, else appends. */
function setHeader(head: string[], name: string, value: string): void {
  for (let i = 0; i < head.length; i += 2) {
    if (head[i] === name) {
      head[i + 1] = value;
      return;
    }
  }
  head.push(name, value);
}
