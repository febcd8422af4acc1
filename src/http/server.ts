import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import type { Clock } from '../clock.js';
import { GatewayError, toGatewayError } from '../errors/gateway-error.js';
import type { Pipeline } from '../pipeline/handle-request.js';
import { messagesOperation } from '../pipeline/operations.js';
import type { Router } from '../routing/router.js';
import type { InFlightRequests } from './drain.js';
import { errorBody, errorHeaders, surfaceErrorBody, type ErrorSurface } from './error-response.js';
import { bodyTooLarge, notJsonMediaType, parseJsonBody } from './json-body.js';
import { operationRouteFor, serveOperation } from './operation-routes.js';

export interface HttpLimits {
  readonly bodyLimitBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
  /** A streaming client that reads nothing for this long is disconnected. */
  readonly stallTimeoutMs: number;
}

/** The parts of one config version the edge uses; a hot reload swaps them whole. */
export interface HttpRuntime {
  readonly pipeline: Pipeline;
  readonly auth: Authenticator;
  readonly router: Router;
}

/** What the HTTP edge needs from the runtime; it holds no logic of its own. */
export interface HttpDeps {
  readonly limits: HttpLimits;
  readonly clock: Clock;
  /** The current runtime, for requests that finish at once (/v1/models). */
  readonly runtime: () => HttpRuntime;
  /** Takes the current runtime for a request that may run long; `release` when it ends. */
  readonly acquire: () => { readonly runtime: HttpRuntime; release(): void };
  /** Accepted requests, for the drain. */
  readonly inFlight: InFlightRequests;
  readonly metrics: { readonly contentType: string; text(): Promise<string> };
  readonly isReady: () => boolean;
  /** Unix seconds shown as `created` in /v1/models. */
  readonly startedAtSeconds: number;
  /** Called with unexpected errors (already turned into a generic 500 for the client). */
  readonly onInternalError: (err: unknown, requestId: string) => void;
}

const knownPaths = new Set(['/health', '/ready', '/metrics', '/v1/models', '/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/messages']);

/** Anthropic's API surface: its errors, stream framing and auth header. */
const anthropicPaths = new Set([messagesOperation.route]);

function surfaceOf(url: string): ErrorSurface {
  return anthropicPaths.has(url.split('?')[0] ?? '') ? 'anthropic' : 'openai';
}

/**
 * Builds the Fastify app: the only module (with its siblings in http/) that knows the framework.
 * The API's POST operations are served ahead of it on the same node:http server (operation-routes.ts).
 */
export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const { limits } = deps;
  const app = Fastify({
    logger: false,
    bodyLimit: limits.bodyLimitBytes,
    genReqId: () => randomUUID(),
    // The API's POST operations skip Fastify (operation-routes.ts); every other request goes to it.
    serverFactory: (fastifyHandler) =>
      createNodeServer((req, res) => {
        const route = operationRouteFor(req.method, req.url);
        if (route) serveOperation(deps, route, req, res);
        else fastifyHandler(req, res);
      }, limits),
    clientErrorHandler,
    // During a drain, requests that still arrive on open connections are served (with
    // `Connection: close`) rather than refused; see drain.ts.
    return503OnClosing: false,
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    deps.inFlight.track(reply.raw);
    reply.header('x-gateway-request-id', request.id);
  });

  app.setErrorHandler((err: FastifyError, request, reply) => sendError(reply, edgeError(err, request, deps), {}, surfaceOf(request.url), request.id));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const error = knownPaths.has(path)
      ? new GatewayError('method_not_allowed', `${request.method} is not allowed on ${path}.`)
      : new GatewayError('not_found', 'Unknown route. The gateway serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/messages, /v1/models, /health, /ready and /metrics.');
    sendError(reply, error, {}, surfaceOf(request.url), request.id);
  });

  app.get('/health', async (_request, reply) => reply.send({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => (deps.isReady() ? reply.send({ status: 'ready' }) : reply.code(503).send({ status: 'draining' })));
  app.get('/metrics', async (_request, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.text()));

  app.get('/v1/models', async (request, reply) => {
    const { auth, router } = deps.runtime();
    const principal = auth.authenticate(request.headers.authorization);
    const data = router.models
      .filter((m) => principal.mayUse(m.alias))
      .map((m) => ({ id: m.alias, object: 'model', created: deps.startedAtSeconds, owned_by: m.ownedBy }));
    return reply.send({ object: 'list', data });
  });

  app.get('/v1/models/:model', async (request, reply) => {
    const { auth, router } = deps.runtime();
    const principal = auth.authenticate(request.headers.authorization);
    const name = (request.params as { model: string }).model;
    const model = router.find(name);
    router.authorize(model, principal);
    return reply.send({ id: model.alias, object: 'model', created: deps.startedAtSeconds, owned_by: model.ownedBy });
  });

  return app;
}

/**
 * Requests Node's HTTP parser rejects (bad framing, a body cut short of its Content-Length, CR
 * inside a header value) never reach a route, and Fastify's default answer is not in the OpenAI
 * error shape; answer in the same shape as every other error, then close (S-01, S-11, S-13).
 */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new GatewayError('invalid_request', 'The request was not received in time.', { status: 408 })
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new GatewayError('invalid_request', 'The request headers are too large.', { status: 431 })
        : new GatewayError('invalid_request', 'The request is not valid HTTP/1.1.');
  if (socket.writable) {
    const body = errorBody(error);
    const headers = { ...errorHeaders(error), 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
    const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n${head}\r\n${body}`);
  }
  socket.destroy(err);
}

function createNodeServer(handler: (req: IncomingMessage, res: ServerResponse) => void, limits: HttpLimits): Server {
  const server = createServer({ maxHeaderSize: limits.maxHeaderBytes, insecureHTTPParser: false }, handler);
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxHeadersCount = 200;
  return server;
}

function sendError(reply: FastifyReply, err: GatewayError, extra: Readonly<Record<string, string>> = {}, surface: ErrorSurface = 'openai', requestId?: string): void {
  if (reply.sent || reply.raw.headersSent) return;
  const headers = surface === 'anthropic' && requestId !== undefined ? { ...errorHeaders(err, extra), 'request-id': requestId } : errorHeaders(err, extra);
  void reply.code(err.status).headers(headers).send(surfaceErrorBody(err, surface, requestId));
}

/** Maps framework and parser errors to catalog errors; anything unexpected is logged and made generic. */
function edgeError(err: FastifyError, request: FastifyRequest, deps: HttpDeps): GatewayError {
  if (err instanceof GatewayError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return bodyTooLarge(deps.limits.bodyLimitBytes);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return notJsonMediaType();
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatewayError('invalid_json', 'The request body is empty or its length does not match Content-Length.');
    default:
      break;
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new GatewayError('invalid_json', 'The request could not be read.');
  }
  deps.onInternalError(err, request.id);
  return toGatewayError(err);
}
