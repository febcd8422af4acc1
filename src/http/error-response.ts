import type { ServerResponse } from 'node:http';
import { GatewayError } from '../errors/gateway-error.js';
import { formatRetryAfterSeconds } from '../resilience/retry-after.js';

/**
 * The one place errors become responses: OpenAI's error body plus the headers SDKs act on
 * (`x-should-retry` so their retry loop does not multiply ours, `Retry-After`/`retry-after-ms`).
 */
export function errorHeaders(err: GatewayError, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const headers: Record<string, string> = { ...extra, ...err.headers, 'content-type': 'application/json', 'x-should-retry': String(err.shouldRetry) };
  if (err.retryAfterMs !== undefined) {
    headers['retry-after'] = formatRetryAfterSeconds(err.retryAfterMs);
    headers['retry-after-ms'] = String(Math.ceil(err.retryAfterMs));
  }
  if (err.code === 'request_too_large') headers.connection = 'close';
  return headers;
}

export function errorBody(err: GatewayError): string {
  return JSON.stringify(err.toBody());
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
