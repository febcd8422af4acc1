import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { sleep } from '../../clock.js';
import type { Behaviour, FakeDialectName, Fault } from './script.js';

/** Request bodies past this size get a 413 and are not kept. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** A request as a dialect sees it: already read and parsed. */
export interface FakeRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** The raw query string without `?` ("" when none); Gemini's `alt=sse` and `key=` live here. */
  readonly query?: string;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON; the raw text when it is not JSON; undefined when the body is empty. */
  readonly body: unknown;
  /** The body exactly as received (what a request signature covers); undefined when too large. */
  readonly raw?: string;
}

/** What a dialect wants written; the delivery below adds timing and faults. */
export type Answer =
  | { kind: 'json'; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'empty'; status: number; headers?: Record<string, string> }
  /** `events` are complete frames, one per chunk: SSE text (`data: …\n\n`) or binary (AWS event-stream messages). */
  | {
      kind: 'stream';
      contentType: string;
      events: ReadonlyArray<string | Uint8Array>;
      headers?: Record<string, string>;
      /**
       * The in-band error an `error-event` fault writes after `sent` events, when this stream's
       * format is not the dialect's usual one (a Responses stream numbers its events); default
       * the dialect's `errorEvent`.
       */
      errorEvent?: (message: string, sent: number) => string | Uint8Array;
    }
  /** Bytes written verbatim, `pieceBytes` at a time (a replayed recording). */
  | { kind: 'raw'; status: number; contentType: string; body: Uint8Array; pieceBytes: number };

/** What a dialect may use to build an answer; nothing in here does I/O. */
export interface DialectContext {
  readonly fakeName: string;
  readonly behaviour: Readonly<Behaviour>;
  /** When set, other model names are rejected the way the real server does. */
  readonly models: readonly string[] | undefined;
  readonly apiKey: string | undefined;
  /** 1-based number of the request on this fake, for stable ids. */
  readonly sequence: number;
  /** Unix seconds, for `created`. */
  readonly nowSeconds: number;
}

/** One wire protocol: routes, answers and error shapes. Pure: no sockets, no timers. */
export interface FakeDialect {
  readonly name: FakeDialectName;
  /** Path prefix that `baseUrl` ends with: "/v1" or "". */
  readonly basePath: string;
  /** Whether the route generates text or vectors; only these count in stats and take faults. */
  isInference(method: string, path: string): boolean;
  /** The normal answer to a request (including this dialect's validation errors). */
  answer(request: FakeRequest, context: DialectContext): Answer;
  /** This dialect's error body for a status, used by `status` faults and `failureRate`. */
  errorBody(status: number, message?: string): unknown;
  /** One frame carrying an in-band error in this dialect's format. */
  errorEvent(message: string): string | Uint8Array;
  /** Headers that go with this dialect's error bodies (Bedrock's `x-amzn-errortype`). */
  errorHeaders?(status: number): Record<string, string>;
  /** Headers on every answer (OpenAI's `x-request-id`). */
  commonHeaders(context: DialectContext): Record<string, string>;
}

/** The faults that act while an answer is being written. */
export type DeliveryFault = Extract<Fault, { kind: 'reset-mid-stream' | 'stall' | 'error-event' | 'trickle' }>;

/** The hooks delivery needs from the server. */
export interface DeliveryControl {
  /** Aborted when the client goes away or the fake closes; every wait stops on it. */
  readonly signal: AbortSignal;
  /** Ends the exchange abruptly on the fake's initiative (not counted as a client abort). */
  destroySocket(): void;
  /** The in-band error frame for `error-event`. */
  errorEvent(message: string): string | Uint8Array;
}

/** A percent-decoded path segment; the raw segment when its escapes are malformed. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Parsed JSON; the raw text when it is not JSON; undefined for an empty body. */
export function parseBody(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** The body as text, or undefined past MAX_BODY_BYTES (the rest is drained, not kept). */
export async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Keep reading past the limit: leaving the body unread would stall the 413 on some clients.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8');
}

/** Waits `ms` (none at all when ≤ 0, so a zero-delay fake adds no timer hops); rejects on abort. */
export function wait(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return ms > 0 ? sleep(ms, signal) : Promise.resolve();
}

/** Writes one chunk and waits until it reached the socket; rejects if the exchange is aborted. */
function write(res: ServerResponse, chunk: string | Uint8Array, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    // A write to a socket destroyed meanwhile never calls back, so the signal settles it too.
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    res.write(chunk, (err) => {
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    });
  });
}

function deliverJson(
  res: ServerResponse,
  answer: Extract<Answer, { kind: 'json' | 'empty' }>,
  common: Record<string, string>,
): Buffer {
  const isText = answer.kind === 'json' && typeof answer.body === 'string';
  const payload = answer.kind === 'empty' ? '' : isText ? String(answer.body) : JSON.stringify(answer.body);
  const bytes = Buffer.from(payload, 'utf8');
  const contentType = answer.kind === 'empty' ? {} : { 'content-type': isText ? 'text/plain' : 'application/json' };
  res.writeHead(answer.status, {
    ...contentType,
    'content-length': String(bytes.length),
    ...common,
    ...answer.headers,
  });
  return bytes;
}

async function deliverWhole(
  res: ServerResponse,
  answer: Extract<Answer, { kind: 'json' | 'empty' }>,
  common: Record<string, string>,
  fault: DeliveryFault | undefined,
  control: DeliveryControl,
): Promise<void> {
  const bytes = deliverJson(res, answer, common);
  if (fault?.kind === 'stall' || fault?.kind === 'trickle') {
    res.flushHeaders();
    return;
  }
  if (fault?.kind === 'reset-mid-stream') {
    // Content-Length promises the whole body, so the client sees a truncated one.
    await write(res, bytes.subarray(0, Math.floor(bytes.length / 2)), control.signal);
    control.destroySocket();
    return;
  }
  res.end(bytes);
}

async function deliverStream(
  res: ServerResponse,
  answer: Extract<Answer, { kind: 'stream' }>,
  common: Record<string, string>,
  fault: DeliveryFault | undefined,
  control: DeliveryControl,
  timing: Readonly<Behaviour>,
): Promise<void> {
  res.writeHead(200, { 'content-type': answer.contentType, 'cache-control': 'no-cache', ...common, ...answer.headers });
  res.flushHeaders();
  await wait(timing.ttftMs, control.signal);
  for (let i = 0; i < answer.events.length; i++) {
    if (fault !== undefined && i === fault.afterChunks) break;
    if (i > 0) await wait(timing.chunkIntervalMs, control.signal);
    await write(res, answer.events[i] ?? '', control.signal);
  }
  switch (fault?.kind) {
    case undefined:
      res.end();
      return;
    case 'stall':
      return;
    case 'reset-mid-stream':
      control.destroySocket();
      return;
    case 'error-event': {
      const message = 'The fake upstream failed mid-stream (scripted).';
      const sent = Math.min(fault.afterChunks, answer.events.length);
      await write(res, answer.errorEvent?.(message, sent) ?? control.errorEvent(message), control.signal);
      res.end();
      return;
    }
    case 'trickle':
      // Ends only when the client leaves or the fake closes: the write or the wait rejects.
      for (;;) {
        await wait(fault.intervalMs ?? 100, control.signal);
        await write(res, fault.frame ?? ': keep-alive\n\n', control.signal);
      }
  }
}

async function deliverRaw(res: ServerResponse, answer: Extract<Answer, { kind: 'raw' }>, common: Record<string, string>, control: DeliveryControl, timing: Readonly<Behaviour>): Promise<void> {
  res.writeHead(answer.status, { 'content-type': answer.contentType, 'cache-control': 'no-cache', ...common });
  res.flushHeaders();
  const step = Math.max(1, answer.pieceBytes);
  for (let at = 0; at < answer.body.length; at += step) {
    if (at > 0) await wait(timing.chunkIntervalMs, control.signal);
    await write(res, answer.body.subarray(at, at + step), control.signal);
  }
  res.end();
}

/**
 * Writes an answer honouring the behaviour's stream timing and a delivery fault. Rejects with
 * the signal's reason when the client goes away or the fake closes; the caller swallows that.
 */
export async function deliver(
  res: ServerResponse,
  answer: Answer,
  options: {
    common: Record<string, string>;
    fault: DeliveryFault | undefined;
    control: DeliveryControl;
    timing: Readonly<Behaviour>;
  },
): Promise<void> {
  const { common, fault, control, timing } = options;
  if (answer.kind === 'stream') await deliverStream(res, answer, common, fault, control, timing);
  else if (answer.kind === 'raw') await deliverRaw(res, answer, common, control, timing);
  else await deliverWhole(res, answer, common, fault, control);
}
