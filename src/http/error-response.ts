import type { ServerResponse } from 'node:http';
import { GatewayError } from '../errors/gateway-error.js';
import { formatRetryAfterMs, formatRetryAfterSeconds } from '../resilience/retry-after.js';

/**
 * The one place errors become responses: OpenAI's error body plus the headers SDKs act on
 * (`x-should-retry` so their retry loop does not multiply ours, `Retry-After`/`retry-after-ms`).
 */
export function errorHeaders(err: GatewayError, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const headers: Record<string, string> = { ...extra, ...err.headers, 'content-type': 'application/json', 'x-should-retry': String(err.shouldRetry) };
  if (err.retryAfterMs !== undefined) {
    headers['retry-after'] = formatRetryAfterSeconds(err.retryAfterMs);
    headers['retry-after-ms'] = formatRetryAfterMs(err.retryAfterMs);
  }
  if (err.code === 'request_too_large') headers.connection = 'close';
  return headers;
}

export function errorBody(err: GatewayError): string {
  return JSON.stringify(err.toBody());
}

/** The API shape an error is rendered in: OpenAI's everywhere, Anthropic's on `/v1/messages`. */
export type ErrorSurface = 'openai' | 'anthropic';

/**
 * Anthropic's error `type` for one of our errors, by status as Anthropic assigns them
 * (protocols.md §2.5), so the Anthropic SDKs raise their usual classes.
 */
export function anthropicErrorType(err: GatewayError): string {
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
export function anthropicErrorObject(err: GatewayError, requestId: string | undefined): Record<string, unknown> {
  return { type: 'error', error: { type: anthropicErrorType(err), message: err.message }, ...(requestId === undefined ? {} : { request_id: requestId }) };
}

/** The body for an error on a surface. */
export function surfaceErrorBody(err: GatewayError, surface: ErrorSurface, requestId?: string): string {
  return surface === 'anthropic' ? JSON.stringify(anthropicErrorObject(err, requestId)) : errorBody(err);
}

/** Writes an error on a raw response if nothing was sent yet; otherwise just ends it. */
export function writeRawError(res: ServerResponse, err: GatewayError, extra: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  res.writeHead(err.status, errorHeaders(err, extra));
  res.end(errorBody(err));
}
