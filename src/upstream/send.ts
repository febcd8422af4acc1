import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import type { Secret } from '../config/secret.js';
import type { UpstreamCall } from '../providers/types.js';
import type { Priority } from '../queue/priority.js';
import { authorize, type Credentials } from './credentials.js';
import type { PoolGate, ReleaseSlot } from './pool-gate.js';
import { StreamedResponse, type StreamedReply } from './streamed-response.js';

/** Where and how to send calls for one deployment; built at compile time. */
export interface UpstreamEndpoint {
  readonly pool: Pool;
  /** Every call takes a slot here before it reaches the pool (bounded, fair waits). */
  readonly gate: PoolGate;
  readonly credentials: Credentials;
  /** Every secret this deployment holds, so upstream error text can be scrubbed of them exactly. */
  readonly secrets: readonly Secret[];
  readonly firstByteTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Streams: from the response headers to the first chunk with content (see attempt.ts). */
  readonly firstContentTimeoutMs: number;
  /** Longest wait for a slot of `gate`. */
  readonly poolQueueMs: number;
}

/** Who is calling and how long the call may wait for a connection. */
export interface CallContext {
  /** Aborted by the client's disconnect, the request deadline or the drain: ends every wait. */
  readonly signal: AbortSignal;
  /** The pool share this call counts against. */
  readonly tenant: string;
  /** Longest wait for a connection slot (already capped by the caller to the deadline). */
  readonly maxWaitMs: number;
  /** The request's class and its tenant's weight, for its place in the connection queue. */
  readonly priority: Priority;
  readonly weight: number;
  /** W3C `traceparent`/`tracestate` for this attempt (built or validated by observability/tracer.ts). */
  readonly traceHeaders?: Readonly<Record<string, string>> | undefined;
}

/**
 * Sends one streamed upstream call and resolves when the response headers arrive. The body is
 * left for the caller to read (StreamedResponse); its connection slot is given back when the
 * body closes (read to its end, failed or destroyed). Rejects with PoolSaturatedError when no
 * connection slot came in time, with undici's errors (connect, timeout, reset), or with the
 * signal's abort reason, at once.
 */
export async function sendUpstream(endpoint: UpstreamEndpoint, call: UpstreamCall, ctx: CallContext): Promise<StreamedReply> {
  const { release, headers } = await slotAndHeaders(endpoint, call, ctx);
  const signal = ctx.signal;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      release();
      reject(signal.reason);
      return;
    }
    endpoint.pool.dispatch(
      { method: call.method as Dispatcher.HttpMethod, path: call.path, headers, body: call.body, headersTimeout: endpoint.firstByteTimeoutMs, bodyTimeout: endpoint.idleTimeoutMs },
      new StreamedResponse(signal, release, resolve, reject),
    );
  });
}

/** A connection slot of the deployment's pool, then the call's auth headers; the slot is given back if signing fails. */
async function slotAndHeaders(endpoint: UpstreamEndpoint, call: UpstreamCall, ctx: CallContext): Promise<{ release: ReleaseSlot; headers: Record<string, string> }> {
  const release = endpoint.gate.tryAcquire(ctx.tenant) ?? (await endpoint.gate.acquire(ctx.tenant, ctx.signal, ctx.maxWaitMs, ctx.priority, ctx.weight));
  try {
    const headers = await authorize(endpoint.credentials, call);
    // After signing: SigV4 signs the headers it lists, and these are not among them.
    if (ctx.traceHeaders !== undefined) Object.assign(headers, ctx.traceHeaders);
    return { release, headers };
  } catch (err) {
    release();
    throw err;
  }
}

/** A whole upstream response, read into memory. */
export interface UpstreamReply {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as text; undefined for an error body larger than its limit (the status still counts). */
  readonly text: string | undefined;
}

/** Body limits for `exchangeUpstream`: a success body, and an error body (only read for its message). */
export interface BodyLimits {
  readonly maxBytes: number;
  readonly maxErrorBytes: number;
}

/**
 * Sends one call and reads the whole response (non-streaming calls and their errors). Rejects
 * like `sendUpstream`, and when a success body is larger than `limits.maxBytes`.
 *
 * Why not `pool.request()`: that wraps every body in a Readable stream (plus an AsyncResource
 * and an abort listener of its own) only for us to read it straight back into one string;
 * the dispatch handler below collects the chunks directly (bench/analysis.md has the profile).
 */
export async function exchangeUpstream(endpoint: UpstreamEndpoint, call: UpstreamCall, ctx: CallContext, limits: BodyLimits): Promise<UpstreamReply> {
  const { release, headers } = await slotAndHeaders(endpoint, call, ctx);
  return exchange(endpoint, call, headers, ctx.signal, limits, release);
}

/** The exchange itself; gives the slot back once undici is done with the call. */
function exchange(endpoint: UpstreamEndpoint, call: UpstreamCall, headers: Record<string, string>, signal: AbortSignal, limits: BodyLimits, release: ReleaseSlot): Promise<UpstreamReply> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      release();
      reject(signal.reason);
      return;
    }
    let controller: Dispatcher.DispatchController | undefined;
    let statusCode = 0;
    let responseHeaders: IncomingHttpHeaders = {};
    let max = limits.maxBytes;
    let size = 0;
    const parts: Buffer[] = [];
    // Before dispatch undici has no controller to abort: answer the abort at once, and let the
    // call abort itself when it starts (onRequestStart).
    const onAbort = (): void => {
      if (controller) controller.abort(signal.reason);
      else reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => {
      signal.removeEventListener('abort', onAbort);
      release();
    };

    endpoint.pool.dispatch(
      { method: call.method as Dispatcher.HttpMethod, path: call.path, headers, body: call.body, headersTimeout: endpoint.firstByteTimeoutMs, bodyTimeout: endpoint.idleTimeoutMs },
      {
        onRequestStart(c) {
          controller = c;
          if (signal.aborted) c.abort(signal.reason);
        },
        onResponseStart(_c, status, h) {
          statusCode = status;
          responseHeaders = h;
          if (status < 200 || status >= 300) max = limits.maxErrorBytes;
        },
        onResponseData(c, chunk) {
          size += chunk.length;
          if (size > max) {
            // A misbehaving upstream must not exhaust memory: stop reading and drop the connection.
            c.abort(new Error(`upstream body larger than ${max} bytes`));
            return;
          }
          parts.push(chunk);
        },
        onResponseEnd() {
          settle();
          resolve({ statusCode, headers: responseHeaders, text: parts.length === 1 ? (parts[0] as Buffer).toString('utf8') : Buffer.concat(parts).toString('utf8') });
        },
        onResponseError(_c, err) {
          settle();
          // An error status whose body could not be read (too large, reset, timed out) still has
          // a status worth reporting; a success body that fails is a failed attempt.
          if (statusCode !== 0 && (statusCode < 200 || statusCode >= 300)) resolve({ statusCode, headers: responseHeaders, text: undefined });
          else reject(err);
        },
      },
    );
  });
}
