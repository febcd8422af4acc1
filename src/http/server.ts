import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GatewayError } from '../errors/gateway-error.js';
import { readJsonBodyThenRun } from './body-reader.js';
import { closeSilentConnections, connectionsCheckingIntervalMs, firstRequestArrived } from './connection-limits.js';
import type { HttpDeps } from './edge-deps.js';
import { rawHttpError } from './error-response.js';
import { RequestScope, scopeOf } from './request-scope.js';
import type { RouteTable } from './routes.js';

export type { HttpDeps, HttpLimits, HttpRuntime } from './edge-deps.js';

/**
 * The gateway's HTTP edge on node:http: one route table, one request scope per request, one
 * error renderer. Every request, matched or not, becomes a RequestScope, so it gets a request id,
 * drain tracking and exactly one recorded outcome; 404 and 405 (with `Allow`) follow from the table.
 */
export function createEdgeServer(deps: HttpDeps, table: RouteTable): Server {
  const { limits } = deps;
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      insecureHTTPParser: false,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Slow headers and slow bodies are closed within their timeout + this interval.
      connectionsCheckingInterval: connectionsCheckingIntervalMs,
    },
    (req, res) => handle(deps, table, req, res),
  );
  server.maxHeadersCount = 200;
  server.maxConnections = limits.maxConnections;
  closeSilentConnections(server, limits.idleConnectionTimeoutMs);
  server.on('clientError', onClientError);
  return server;
}

function handle(deps: HttpDeps, table: RouteTable, req: IncomingMessage, res: ServerResponse): void {
  firstRequestArrived(req.socket);
  const scope = new RequestScope(deps, req, res);
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const match = table.match(path);
  if (match === undefined) {
    req.resume();
    scope.error(new GatewayError('not_found', `Unknown route. The gateway serves ${table.paths.join(', ')}.`), {});
    return;
  }
  const { entry } = match;
  scope.routeLabel = entry.path;
  scope.surface = entry.surface;
  const method = req.method ?? 'GET';
  const route = entry.byMethod.get(method) ?? (method === 'HEAD' ? entry.byMethod.get('GET') : undefined);
  if (route === undefined) {
    req.resume();
    scope.error(new GatewayError('method_not_allowed', `${method} is not allowed on ${entry.path}; use ${entry.allow}.`), { allow: entry.allow });
    return;
  }
  scope.route = route;
  scope.params = match.params;
  if (route.body === 'json') {
    readJsonBodyThenRun(scope, Math.min(route.bodyLimitBytes ?? Infinity, deps.limits.bodyLimitBytes));
    return;
  }
  if (route.body !== 'raw') req.resume();
  void scope.run();
}

/**
 * Requests Node's HTTP parser refuses (bad framing, a body cut short of its Content-Length, CR
 * inside a header value, headers or body too slow, headers too large) never reach a route: answer
 * in the same error shape as every other error, then close (S-01, S-11, S-13). When the request
 * had already been dispatched (a body that timed out), its scope records the outcome.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new GatewayError('request_timeout', 'The request was not received in time.')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new GatewayError('headers_too_large', 'The request headers are too large.')
        : new GatewayError('invalid_request', 'The request is not valid HTTP/1.1.');
  const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  const scope = res?.[scopeOf];
  if (socket.writable && !res?.headersSent) socket.write(rawHttpError(error, scope?.requestId));
  scope?.recordOutcome(error.status, 'client_error', error.code);
  socket.destroy(err);
}
