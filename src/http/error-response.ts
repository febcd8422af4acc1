import { STATUS_CODES } from 'node:http';
import type { GatewayError } from '../errors/gateway-error.js';
import { formatRetryAfterMs, formatRetryAfterSeconds } from '../resilience/retry-after.js';

/**
 * The one place errors become bytes, whatever carries them: a JSON reply (request-scope.ts), an
 * in-band SSE error event (sse-writer.ts) or a raw HTTP answer written on a socket whose request
 * Node's parser refused (server.ts). All render from the error catalog through these functions.
 */

/** The API shape an error is rendered in: OpenAI's everywhere, Anthropic's on `/v1/messages`. */
export type ErrorSurface = 'openai' | 'anthropic';

/** Codes whose connection is closed after the answer: the rest of the request was not (or cannot be) read. */
const closesConnection: ReadonlySet<string> = new Set(['request_too_large', 'request_timeout', 'headers_too_large']);

/**
 * The headers SDKs act on (`x-should-retry` so their retry loop does not multiply ours,
 * `Retry-After`/`retry-after-ms`), over `extra` (rate-limit headers, gateway headers).
 */
export function errorHeaders(err: GatewayError, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const headers: Record<string, string> = { ...extra, ...err.headers, 'content-type': 'application/json', 'x-should-retry': String(err.shouldRetry) };
  if (err.retryAfterMs !== undefined) {
    headers['retry-after'] = formatRetryAfterSeconds(err.retryAfterMs);
    headers['retry-after-ms'] = formatRetryAfterMs(err.retryAfterMs);
  }
  // Unless the error says the connection may stay (an upload refused mid-body whose client reads
  // answers while it sends: closing would reset the socket before it read this one).
  if (closesConnection.has(err.code) && headers.connection !== 'keep-alive') headers.connection = 'close';
  return headers;
}

/**
 * Anthropic's error `type` for one of our errors, by status as Anthropic assigns them
 * (protocols.md §2.5), so the Anthropic SDKs raise their usual classes.
 */
function anthropicErrorType(err: GatewayError): string {
  switch (err.status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
      return 'overloaded_error';
    case 504:
      return 'timeout_error';
    default:
      return err.status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/** Anthropic's error object: `{"type":"error","error":{"type","message"},"request_id"}`. */
function anthropicErrorObject(err: GatewayError, requestId: string | undefined): Record<string, unknown> {
  return { type: 'error', error: { type: anthropicErrorType(err), message: err.message }, ...(requestId === undefined ? {} : { request_id: requestId }) };
}

/** The JSON text of an error on a surface: OpenAI's `{"error":{…}}` or Anthropic's object. */
export function errorPayload(err: GatewayError, surface: ErrorSurface, requestId?: string): string {
  return surface === 'anthropic' ? JSON.stringify(anthropicErrorObject(err, requestId)) : JSON.stringify(err.toBody());
}

/**
 * A complete HTTP/1.1 error response as bytes for a socket that has no request object to answer
 * through (Node's parser refused the request). Always `Connection: close`.
 */
export function rawHttpError(err: GatewayError, requestId: string | undefined): string {
  const body = errorPayload(err, 'openai');
  const headers = errorHeaders(err, requestId === undefined ? {} : { 'x-gateway-request-id': requestId });
  headers['content-length'] = String(Buffer.byteLength(body));
  headers.connection = 'close';
  let head = `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\n`;
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  return `${head}\r\n${body}`;
}
