import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors/gateway-error.js';
import { bodyTooLarge, notJsonMediaType, parseJsonBody } from './json-body.js';
import type { RequestScope } from './request-scope.js';

const readerOf: unique symbol = Symbol('llm-gateway.bodyReader');

declare module 'node:http' {
  interface IncomingMessage {
    [readerOf]?: BodyReader | undefined;
  }
}

interface BodyReader {
  readonly scope: RequestScope;
  readonly limitBytes: number;
  readonly parts: Buffer[];
  size: number;
}

/**
 * Reads the request body and parses it as JSON into `scope.body`, then runs the route. A body
 * needs `Content-Type: application/json` (any parameters); no body and no content type reaches
 * the operation's validation as `undefined`; bodies over the limit are refused as soon as the
 * limit is crossed (at once when Content-Length says so) without reading the rest. Refusals are
 * answered through the scope, so they are recorded like every other answer. The listeners are
 * shared functions (the reader hangs off the request), not closures made per request.
 */
export function readJsonBodyThenRun(scope: RequestScope, limitBytes: number): void {
  const req = scope.req;
  const contentType = req.headers['content-type'];
  const declared = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
  if (contentType === undefined && !hasBody) {
    req.resume();
    void scope.run();
    return;
  }
  if (contentType === undefined || !isJsonMediaType(contentType)) {
    req.resume();
    scope.error(notJsonMediaType(), {});
    return;
  }
  if (declared !== undefined && Number(declared) > limitBytes) {
    scope.error(bodyTooLarge(limitBytes), {});
    return;
  }
  req[readerOf] = { scope, limitBytes, parts: [], size: 0 };
  // A body Node's parser rejects, or a client gone mid-upload, errors the request; the answer
  // (server.ts's clientError) and the record (the scope's close) happen elsewhere.
  req.on('error', noop);
  req.on('data', onData);
  req.on('end', onEnd);
}

function onData(this: IncomingMessage, chunk: Buffer): void {
  const reader = this[readerOf] as BodyReader;
  reader.size += chunk.length;
  if (reader.size > reader.limitBytes) {
    // Stop reading: the 413 carries `Connection: close`, so the rest is never read.
    this.removeListener('data', onData);
    this.removeListener('end', onEnd);
    this.pause();
    reader.parts.length = 0;
    reader.scope.error(bodyTooLarge(reader.limitBytes), {});
    return;
  }
  reader.parts.push(chunk);
}

function onEnd(this: IncomingMessage): void {
  const reader = this[readerOf] as BodyReader;
  // Cleared, not deleted: `delete` turned every request object into a slow dictionary-mode
  // object for the rest of its life (Node's own reads of it included).
  this[readerOf] = undefined;
  const { parts, size, scope } = reader;
  try {
    scope.body = parseJsonBody(parts.length === 1 ? (parts[0] as Buffer).toString('utf8') : Buffer.concat(parts, size).toString('utf8'));
  } catch (err) {
    scope.error(err instanceof GatewayError ? err : new GatewayError('invalid_json', 'The request could not be read.'), {});
    return;
  }
  void scope.run();
}

/** `application/json`, case-insensitively, with or without parameters such as a charset. */
function isJsonMediaType(value: string): boolean {
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase() === 'application/json';
}

function noop(): void {}
