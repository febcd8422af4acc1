import type { IncomingHttpHeaders } from 'node:http';
import type { RuntimeTarget } from '../routing/runtime-types.js';
import type { AttemptOutcome, RequestFinishedEvent } from './events.js';
import { parseTraceparent, parseTracestate } from './trace-context.js';

/**
 * What the request flow knows of tracing: a handle per request and one per upstream attempt.
 * The flow calls them at its few landmarks (start, attempts, retries and fallbacks, admission,
 * the commit point, the end); what becomes a span is the implementation's business. With
 * tracing off (the default) the implementation below does next to nothing, and the
 * OpenTelemetry SDK is never loaded (otel-tracer.ts is imported only when tracing is on).
 */
export interface Tracer {
  /** The server span of one API request, child of the client's `traceparent` when valid. */
  startRequest(r: RequestStart): RequestTrace;
  /** Exports what is queued, for at most `deadlineMs`; later spans are dropped. */
  shutdown(deadlineMs: number): Promise<void>;
}

export interface RequestStart {
  readonly requestId: string;
  readonly route: string;
  readonly operation: 'chat' | 'text_completion' | 'embeddings';
  readonly headers: IncomingHttpHeaders | Readonly<Record<string, string | string[] | undefined>> | undefined;
  /** Monotonic ms (performance.now()) when the request arrived. */
  readonly startMs: number;
}

/** Attribute values a span event may carry (strings from config or closed vocabularies, numbers). */
export type TraceAttributes = Readonly<Record<string, string | number | boolean>>;

export interface RequestTrace {
  /** The request's trace id (32 lowercase hex), when there is one: see RequestFinishedEvent.traceId. */
  readonly traceId: string | undefined;
  /** True when spans of this request are recorded (and exported): events are worth building. */
  readonly recording: boolean;
  /** A span event on the server span (retry, fallback, admission, commit…). */
  event(name: string, attributes?: TraceAttributes): void;
  /** The client span of one upstream attempt, started now. */
  startAttempt(target: RuntimeTarget, attempt: number): AttemptTrace;
  /** Ends the server span (and the serving attempt's span) from the request's record. */
  end(e: RequestFinishedEvent, details?: ResponseDetails): void;
}

/** What the response said that the record does not keep: read only when recording. */
export interface ResponseDetails {
  readonly finishReasons?: readonly string[];
  readonly responseId?: string;
}

export interface AttemptTrace {
  /** `traceparent` (and `tracestate`) to send upstream on this attempt; undefined: none. */
  readonly headers: Readonly<Record<string, string>> | undefined;
  /**
   * The attempt ended. A failed one ends its span now; a successful one stays open until the
   * request ends (a stream's span covers the stream), then carries the usage.
   */
  end(a: AttemptEnd): void;
}

export interface AttemptEnd {
  readonly outcome: AttemptOutcome;
  readonly status: number | undefined;
  /** What the upstream says answered (`gen_ai.response.model`). */
  readonly responseModel: string | undefined;
  readonly stream: boolean;
}

const noAttempt: AttemptTrace = { headers: undefined, end: () => undefined };

/** A request the gateway does not trace and whose client sent no trace context. */
const noRequest: RequestTrace = {
  traceId: undefined,
  recording: false,
  event: () => undefined,
  startAttempt: () => noAttempt,
  end: () => undefined,
};

/**
 * Tracing off: nothing is recorded, but a client's valid `traceparent` (and `tracestate`) is
 * passed upstream unchanged on every attempt, so the caller's trace stays connected through us
 * at the cost of one header parse; its trace id goes in the access log.
 */
export const passThroughTracer: Tracer = {
  startRequest(r) {
    const raw = r.headers?.traceparent;
    if (raw === undefined) return noRequest;
    const parent = parseTraceparent(raw);
    if (!parent) return noRequest;
    const headers: Record<string, string> = { traceparent: raw as string };
    const state = parseTracestate(r.headers?.tracestate);
    if (state !== undefined) headers.tracestate = state;
    const attempt: AttemptTrace = { headers, end: () => undefined };
    return { traceId: parent.traceId, recording: false, event: () => undefined, startAttempt: () => attempt, end: () => undefined };
  },
  shutdown: () => Promise.resolve(),
};
