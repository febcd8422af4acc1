import type { Dispatcher, Pool } from 'undici';
import type { Secret } from '../config/secret.js';
import type { UpstreamCall } from '../providers/types.js';
import { authorize, type Credentials } from './credentials.js';

/** Where and how to send calls for one deployment; built at compile time. */
export interface UpstreamEndpoint {
  readonly pool: Pool;
  readonly credentials: Credentials;
  /** Every secret this deployment holds, so upstream error text can be scrubbed of them exactly. */
  readonly secrets: readonly Secret[];
  readonly firstByteTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/**
 * Sends one upstream call and resolves when the response headers arrive. The body is left
 * unread for the caller. Rejects with undici's errors (connect, timeout, reset) or the signal's
 * abort reason.
 */
export function sendUpstream(endpoint: UpstreamEndpoint, call: UpstreamCall, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  const headers = authorize(endpoint.credentials, call);
  return headers instanceof Promise ? headers.then((h) => request(endpoint, call, h, signal)) : request(endpoint, call, headers, signal);
}

function request(endpoint: UpstreamEndpoint, call: UpstreamCall, headers: Record<string, string>, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  return endpoint.pool.request({
    method: call.method,
    path: call.path,
    headers,
    body: call.body,
    signal,
    headersTimeout: endpoint.firstByteTimeoutMs,
    bodyTimeout: endpoint.idleTimeoutMs,
  });
}

/** Reads a whole upstream body as text, refusing more than `maxBytes` (a misbehaving upstream must not exhaust memory). */
export async function readBodyText(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) {
      body.destroy();
      throw new Error(`upstream body larger than ${maxBytes} bytes`);
    }
    parts.push(buf);
  }
  return parts.length === 1 ? (parts[0] as Buffer).toString('utf8') : Buffer.concat(parts).toString('utf8');
}
