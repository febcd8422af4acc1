import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError, toGatewayError } from '../errors/gateway-error.js';
import { handleRequest } from '../pipeline/handle-request.js';
import { chatOperation, completionsOperation, embeddingsOperation, messagesOperation, type Operation, type OperationRequest } from '../pipeline/operations.js';
import type { ChatReply } from '../pipeline/reply.js';
import { ClientGoneError } from '../resilience/abort-reasons.js';
import { errorHeaders, surfaceErrorBody, type ErrorSurface } from './error-response.js';
import { bodyTooLarge, notJsonMediaType, parseJsonBody } from './json-body.js';
import type { HttpDeps } from './server.js';
import { anthropicSse, openAiSse, SseWriter, sseHeaders } from './sse-writer.js';

/**
 * The API's POST operations served on node:http directly, ahead of Fastify, which keeps every
 * other route (health, readiness, metrics, models, and the errors for unknown routes).
 *
 * Why: these routes carry all the traffic, and Fastify's per-request layer (its request and reply
 * objects, hooks, content-type parser chain and reply serialisation) was ~8 % of the gateway's
 * CPU per request in `node bench/profile.mjs`, for work the pipeline does not need. What Fastify
 * did for these routes is done here in plain code: the request id, in-flight tracking for the
 * drain, the JSON content-type check, the body limit, and answers in the route's error shape.
 */
interface OperationRoute {
  readonly op: Operation<OperationRequest, unknown, unknown>;
  readonly surface: ErrorSurface;
}

const routes = new Map<string, OperationRoute>(
  [
    { op: chatOperation, surface: 'openai' as const },
    { op: completionsOperation, surface: 'openai' as const },
    { op: embeddingsOperation, surface: 'openai' as const },
    { op: messagesOperation, surface: 'anthropic' as const },
  ].map((r) => [r.op.route, r as OperationRoute]),
);

/** The operation route for a POST to `url`, if it is one (a query string is ignored). */
export function operationRouteFor(method: string | undefined, url: string | undefined): OperationRoute | undefined {
  if (method !== 'POST' || url === undefined) return undefined;
  const q = url.indexOf('?');
  return routes.get(q === -1 ? url : url.slice(0, q));
}

/** Serves one request on an operation route; never throws and always ends the response. */
export function serveOperation(deps: HttpDeps, route: OperationRoute, req: IncomingMessage, res: ServerResponse): void {
  const requestId = randomUUID();
  const startMs = deps.clock.nowMs();
  deps.inFlight.track(res);
  const reply = rawReply(res, requestId, deps.limits.stallTimeoutMs, route.surface);
  // A request whose body Node's parser rejects is answered by the server's clientError handler;
  // its error event needs a listener so that it does not become an uncaught exception.
  req.on('error', noop);
  readJsonBody(req, deps.limits.bodyLimitBytes, (err, body) => {
    if (err) {
      reply.error(err, {});
      return;
    }
    run(deps, route, req, res, reply, requestId, startMs, body).catch((e: unknown) => {
      deps.onInternalError(e, requestId);
      reply.error(toGatewayError(e), {});
    });
  });
}

async function run(deps: HttpDeps, route: OperationRoute, req: IncomingMessage, res: ServerResponse, reply: ChatReply, requestId: string, startMs: number, body: unknown): Promise<void> {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new ClientGoneError());
  });
  deps.inFlight.attach(res, controller);
  // The request finishes on the config version it started with, whatever a reload does meanwhile.
  const lease = deps.acquire();
  try {
    await handleRequest(
      lease.runtime.pipeline,
      route.op,
      { requestId, authorization: authorizationOf(req, route.surface), acceptsXApiKey: route.surface === 'anthropic', headers: req.headers, body, signal: controller.signal, controller, startMs },
      reply,
    );
  } finally {
    lease.release();
  }
  // The client left before we answered: nothing to send, release the socket.
  if (!res.headersSent) res.destroy();
}

/**
 * Reads the body and parses it as JSON, answering as Fastify's JSON parser did: a body needs
 * `Content-Type: application/json` (any parameters); no body and no content type reaches the
 * operation's validation as `undefined`; bodies over the limit are refused as soon as the limit
 * is crossed (at once when Content-Length says so) without reading the rest.
 */
function readJsonBody(req: IncomingMessage, limit: number, done: (err: GatewayError | undefined, body?: unknown) => void): void {
  const contentType = req.headers['content-type'];
  const declared = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
  if (contentType === undefined && !hasBody) {
    req.resume();
    req.once('end', () => done(undefined, undefined));
    return;
  }
  if (contentType === undefined || !isJsonMediaType(contentType)) {
    req.resume();
    done(notJsonMediaType());
    return;
  }
  if (declared !== undefined && Number(declared) > limit) {
    done(bodyTooLarge(limit));
    return;
  }
  const parts: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limit) {
      // Stop reading: the 413 carries `Connection: close`, so the rest is never read.
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.pause();
      done(bodyTooLarge(limit));
      return;
    }
    parts.push(chunk);
  };
  const onEnd = (): void => {
    let body: unknown;
    try {
      body = parseJsonBody(parts.length === 1 ? (parts[0] as Buffer).toString('utf8') : Buffer.concat(parts, size).toString('utf8'));
    } catch (err) {
      done(err instanceof GatewayError ? err : new GatewayError('invalid_json', 'The request could not be read.'));
      return;
    }
    done(undefined, body);
  };
  req.on('data', onData);
  req.on('end', onEnd);
}

/** `application/json`, case-insensitively, with or without parameters such as a charset. */
function isJsonMediaType(value: string): boolean {
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase() === 'application/json';
}

/**
 * The caller's key as an Authorization value. The Anthropic SDKs send `x-api-key` (0.x) or
 * Bearer (1.x); on Anthropic's surface both are accepted and checked the same way.
 */
function authorizationOf(req: IncomingMessage, surface: ErrorSurface): string | undefined {
  const authorization = req.headers.authorization;
  if (surface !== 'anthropic' || (authorization !== undefined && authorization !== '')) return authorization;
  const key = req.headers['x-api-key'];
  return typeof key === 'string' && key !== '' ? `Bearer ${key}` : authorization;
}

/** The pipeline's reply over a raw Node response, in the route's API shape. */
function rawReply(res: ServerResponse, requestId: string, stallTimeoutMs: number, surface: ErrorSurface): ChatReply {
  // Anthropic clients read the request id from `request-id` (exposed as `_request_id`).
  const anthropic = surface === 'anthropic';
  const send = (status: number, headers: Record<string, string>, text: string): void => {
    headers['x-gateway-request-id'] = requestId;
    if (anthropic) headers['request-id'] = requestId;
    headers['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(status, headers);
    res.end(text);
  };
  return {
    json: (status, body, headers) => send(status, { ...headers, 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(body)),
    error: (err, headers) => {
      if (res.headersSent || res.destroyed) return;
      send(err.status, errorHeaders(err, headers), surfaceErrorBody(err, surface, anthropic ? requestId : undefined));
    },
    openStream: (headers) => {
      const head: Record<string, string> = { ...headers, ...sseHeaders, 'x-gateway-request-id': requestId };
      if (anthropic) head['request-id'] = requestId;
      res.writeHead(200, head);
      return new SseWriter(res, stallTimeoutMs, anthropic ? anthropicSse : openAiSse);
    },
  };
}

function noop(): void {}
