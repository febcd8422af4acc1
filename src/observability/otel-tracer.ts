import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, type ClientRequest, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { resolve as resolvePath } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Attributes, Context, Meter, MeterProvider, Span, Tracer as OtelApiTracer } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ResolvedTracing } from '../config/tracing-settings.js';
import { otel } from '../lazy-packages.js';
import type { RuntimeTarget } from '../routing/runtime-types.js';
import type { RequestFinishedEvent } from './events.js';
import { formatTraceparent, parseTraceparent, parseTracestate } from './trace-context.js';
import type { AttemptEnd, AttemptTrace, RequestStart, RequestTrace, ResponseDetails, TraceAttributes, Tracer } from './tracer.js';

/** Why spans were lost: the queue was full (a burst, a slow collector), or their export failed. */
export type DroppedReason = 'queue_full' | 'export_failed';

export interface OtelTracerDeps {
  readonly version: string;
  /** Spans lost, counted (gateway_trace_spans_dropped_total). */
  readonly onDropped: (reason: DroppedReason, spans: number) => void;
  /** An export failed: told at most once a minute, with the error's name (never headers). */
  readonly onExportError: (err: Error) => void;
}

/** Span kinds as numbers (api's SpanKind enum, without importing the api at type level twice). */
const SERVER = 1;
const CLIENT = 2;
/** SpanStatusCode.ERROR */
const ERROR = 2;
/** Characters of a client's x-request-id kept on the span. */
const maxRequestIdChars = 128;
/** Finish reasons kept on a span (one per choice; `n` can be large). */
const maxFinishReasons = 16;
/**
 * Characters kept of any string attribute (each element of an array). Some values are the
 * upstream's words (`gen_ai.response.id`, `.model`, `.finish_reasons`): unbounded, a hostile or
 * broken upstream would make each queued span as big as its answer, times `maxQueueSize`.
 */
const maxAttributeChars = 256;

/**
 * Tracing with the OpenTelemetry JS SDK: a BasicTracerProvider with a parent-based ratio sampler,
 * a BatchSpanProcessor with a bounded queue, and the OTLP/HTTP exporter (protobuf or JSON). No
 * global provider, no context manager and no instrumentation library: the flow hands each span
 * its parent explicitly, so nothing runs per async hop. Built only when tracing is on (the SDK
 * is loaded then, by lazy-packages).
 */
export function createOtelTracer(settings: ResolvedTracing, deps: OtelTracerDeps): Tracer {
  const sdk = otel();
  const { api } = sdk;
  let lastErrorAtMs = -Infinity;
  const exportFailed = (err: Error): void => {
    const now = Date.now();
    if (now - lastErrorAtMs < 60_000) return;
    lastErrorAtMs = now;
    deps.onExportError(err);
  };
  // The batch processor reports drops and failed exports only through its self-observability
  // counter (`otel.sdk.processor.span.processed` with an error.type): that counter is ours.
  const selfObs = processorCounter((count, errorType) => {
    if (errorType === undefined) return;
    deps.onDropped(errorType === 'queue_full' ? 'queue_full' : 'export_failed', count);
    if (errorType !== 'queue_full') exportFailed(new Error(`span export failed (${errorType})`));
  }, api.createNoopMeter());
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings.headers)) headers[name] = value.reveal();
  const Exporter = settings.protocol === 'http/json' ? sdk.OTLPJsonTraceExporter : sdk.OTLPProtoTraceExporter;
  const exporter = new Exporter({ url: settings.endpoint, headers, timeoutMillis: settings.exportTimeoutMs, concurrencyLimit: 4, httpAgentOptions: exporterAgents(process.env) });
  // Every setting explicit: the SDK's own OTEL_BSP_* fallbacks never apply (resolveTracing did).
  // `selfObsMeterProvider` is the SDK's (experimental) option, passed through by this class.
  const processorConfig = {
    maxQueueSize: settings.maxQueueSize,
    maxExportBatchSize: Math.min(settings.maxExportBatchSize, settings.maxQueueSize),
    scheduledDelayMillis: settings.scheduledDelayMs,
    exportTimeoutMillis: settings.exportTimeoutMs,
    selfObsMeterProvider: selfObs,
  };
  const abandonable = new AbandonableExporter(exporter);
  const processor = new sdk.BatchSpanProcessor(abandonable, processorConfig);
  const ratio = new sdk.TraceIdRatioBasedSampler(settings.samplingRatio);
  const sampler = settings.parentBased ? new sdk.ParentBasedSampler({ root: ratio }) : ratio;
  const resource = sdk.resourceFromAttributes({
    ...settings.resourceAttributes,
    'service.name': settings.serviceName,
    'service.version': deps.version,
    'process.pid': process.pid,
  });
  // Explicit limits: the SDK's own default (from OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT) is unbounded.
  const spanLimits = { attributeValueLengthLimit: maxAttributeChars };
  const provider = new sdk.BasicTracerProvider({ resource, sampler, spanProcessors: [processor], spanLimits });
  const tracer = provider.getTracer('llm-gateway', deps.version);
  const toolkit: Toolkit = { api, tracer, TraceState: sdk.TraceState };
  let closed: Promise<void> | undefined;
  return {
    startRequest: (r) => new OtelRequestTrace(toolkit, r),
    shutdown(deadlineMs) {
      // Past the deadline, exports still waiting are given up: the batch processor holds a
      // (referenced) timer of `exportTimeoutMs` per export, which would hold the process's exit.
      return (closed ??= withDeadline(provider.shutdown(), deadlineMs).then(() => abandonable.abandon()));
    },
  };
}

interface Toolkit {
  readonly api: ReturnType<typeof otel>['api'];
  readonly tracer: OtelApiTracer;
  readonly TraceState: ReturnType<typeof otel>['TraceState'];
}

class OtelRequestTrace implements RequestTrace {
  readonly traceId: string;
  readonly recording: boolean;
  readonly #t: Toolkit;
  readonly #span: Span;
  readonly #context: Context;
  readonly #operation: string;
  /** The client's tracestate, passed on unchanged to every attempt. */
  readonly #tracestate: string | undefined;
  /** The attempt that served: its span stays open until the request ends. */
  #served: { span: Span; endMs: number | undefined } | undefined;

  constructor(t: Toolkit, r: RequestStart) {
    this.#t = t;
    this.#operation = r.operation;
    const { api } = t;
    const parent = parseTraceparent(r.headers?.traceparent);
    this.#tracestate = parent ? parseTracestate(r.headers?.tracestate) : undefined;
    const parentContext = parent
      ? api.trace.setSpanContext(api.ROOT_CONTEXT, {
          traceId: parent.traceId,
          spanId: parent.spanId,
          traceFlags: parent.sampled ? 1 : 0,
          isRemote: true,
          ...(this.#tracestate !== undefined ? { traceState: new t.TraceState(this.#tracestate) } : {}),
        })
      : api.ROOT_CONTEXT;
    const attributes: Attributes = { 'gen_ai.operation.name': r.operation, 'http.request.method': 'POST', 'http.route': r.route, 'gateway.request.id': r.requestId };
    const clientRequestId = r.headers?.['x-request-id'];
    if (typeof clientRequestId === 'string' && clientRequestId !== '') attributes['http.request.header.x-request-id'] = [clientRequestId.slice(0, maxRequestIdChars)];
    // Named `{operation} {model}` once the model is known (end()); the operation alone until then.
    this.#span = t.tracer.startSpan(r.operation, { kind: SERVER, attributes, startTime: r.startMs }, parentContext);
    this.#context = api.trace.setSpan(api.ROOT_CONTEXT, this.#span);
    const sc = this.#span.spanContext();
    this.traceId = sc.traceId;
    this.recording = this.#span.isRecording();
  }

  event(name: string, attributes?: TraceAttributes): void {
    if (this.recording) this.#span.addEvent(name, attributes);
  }

  startAttempt(target: RuntimeTarget, attempt: number): AttemptTrace {
    const d = target.deployment;
    const span = this.#t.tracer.startSpan(
      `${this.#operation} ${target.upstreamModel}`,
      {
        kind: CLIENT,
        attributes: {
          'gen_ai.operation.name': this.#operation,
          'gen_ai.provider.name': d.genAiProvider,
          'gen_ai.request.model': target.upstreamModel,
          'server.address': d.serverAddress,
          'server.port': d.serverPort,
          'gateway.deployment': d.name,
          'gateway.model': target.alias,
          'gateway.attempt': attempt,
        },
      },
      this.#context,
    );
    const sc = span.spanContext();
    // The upstream sees this attempt's span as its parent, in the same trace as the client's.
    const headers: Record<string, string> = { traceparent: formatTraceparent(sc.traceId, sc.spanId, (sc.traceFlags & 1) === 1) };
    if (this.#tracestate !== undefined) headers.tracestate = this.#tracestate;
    return {
      headers,
      end: (a: AttemptEnd) => this.#endAttempt(span, a),
    };
  }

  #endAttempt(span: Span, a: AttemptEnd): void {
    if (!span.isRecording()) return;
    if (a.responseModel !== undefined) span.setAttribute('gen_ai.response.model', a.responseModel);
    if (a.status !== undefined) span.setAttribute('http.response.status_code', a.status);
    if (a.outcome !== 'success') {
      span.setAttribute('error.type', a.outcome);
      span.setStatus({ code: ERROR });
      span.end();
      return;
    }
    // A JSON answer ends now (its usage is added when the request ends); a stream when it does.
    this.#served = { span, endMs: a.stream ? undefined : performance.now() };
  }

  end(e: RequestFinishedEvent, details?: ResponseDetails): void {
    const served = this.#served;
    this.#served = undefined;
    if (!this.recording) return;
    // The flow ends its request right after this: nothing here may keep it from doing so.
    try {
      this.#end(e, served, details);
    } catch {
      // A span left unended is dropped by the SDK; the request is unaffected.
    }
  }

  #end(e: RequestFinishedEvent, served: { span: Span; endMs: number | undefined } | undefined, details: ResponseDetails | undefined): void {
    const span = this.#span;
    span.updateName(`${this.#operation} ${e.model}`);
    const attributes: Attributes = {
      'gen_ai.request.model': e.model,
      'http.response.status_code': e.status,
      'gateway.outcome': e.outcome,
      'gateway.attempts': e.attempts,
      'gateway.stream': e.stream,
    };
    if (e.tenant !== undefined) attributes['gateway.team'] = e.tenant;
    if (e.servedModel !== undefined) attributes['gateway.served_model'] = e.servedModel;
    if (e.deployment !== undefined) attributes['gateway.deployment'] = e.deployment;
    if (e.upstream) {
      attributes['gen_ai.provider.name'] = e.upstream.genAiProvider;
      attributes['gen_ai.response.model'] = e.upstream.responseModel;
    }
    const usage: Attributes = {};
    if (e.usage) {
      usage['gen_ai.usage.input_tokens'] = e.usage.promptTokens;
      usage['gen_ai.usage.output_tokens'] = e.usage.completionTokens;
      usage['gateway.usage.estimated'] = e.usage.estimated;
    }
    if (details?.finishReasons && details.finishReasons.length > 0) usage['gen_ai.response.finish_reasons'] = details.finishReasons.slice(0, maxFinishReasons);
    if (details?.responseId !== undefined) usage['gen_ai.response.id'] = details.responseId;
    if (e.timeToFirstTokenMs !== undefined) attributes['gateway.time_to_first_chunk_ms'] = e.timeToFirstTokenMs;
    if (e.outcome !== 'success') {
      attributes['error.type'] = e.errorCode ?? e.outcome;
      // A server span is an error for the gateway's and upstreams' failures, not the client's (4xx).
      if (e.status >= 500 || e.status === 0) span.setStatus({ code: ERROR });
    }
    span.setAttributes(attributes);
    span.setAttributes(usage);
    if (served) {
      served.span.setAttributes(usage);
      // A stream that broke after its commit point: its attempt failed late.
      if (e.outcome !== 'success') served.span.setAttribute('error.type', e.errorCode ?? e.outcome);
      served.span.end(served.endMs);
    }
    span.end();
  }
}

/**
 * A MeterProvider whose one counter reports to `onProcessed(count, errorType)`; every other
 * instrument is the API's no-op. It is how the batch processor's drops reach our metric.
 */
function processorCounter(onProcessed: (count: number, errorType: string | undefined) => void, noop: Meter): MeterProvider {
  const meter: Meter = {
    createGauge: (...a) => noop.createGauge(...a),
    createHistogram: (...a) => noop.createHistogram(...a),
    createUpDownCounter: (...a) => noop.createUpDownCounter(...a),
    createObservableGauge: (...a) => noop.createObservableGauge(...a),
    createObservableCounter: (...a) => noop.createObservableCounter(...a),
    createObservableUpDownCounter: (...a) => noop.createObservableUpDownCounter(...a),
    addBatchObservableCallback: (...a) => noop.addBatchObservableCallback(...a),
    removeBatchObservableCallback: (...a) => noop.removeBatchObservableCallback(...a),
    createCounter: () => ({
      add(count: number, attributes?: Attributes) {
        const errorType = attributes?.['error.type'];
        onProcessed(count, typeof errorType === 'string' ? errorType : undefined);
      },
    }),
  };
  return { getMeter: () => meter };
}

/**
 * The exporter's HTTP agents: what the SDK builds when given none (keep-alive; the TLS files of
 * OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY, read now, at start),
 * with their sockets unref'd. The CLI exits when its event loop is empty: an export still waiting
 * on a hanging collector held the process for its whole `exportTimeoutMs` after shutdown's flush
 * deadline had passed. Nothing is lost by it: that export's spans were already given up.
 */
function exporterAgents(env: NodeJS.ProcessEnv): (protocol: string) => HttpAgent {
  const file = (name: string): Buffer | undefined => {
    const path = env[`OTEL_EXPORTER_OTLP_TRACES_${name}`]?.trim() || env[`OTEL_EXPORTER_OTLP_${name}`]?.trim();
    if (!path) return undefined;
    try {
      return readFileSync(resolvePath(process.cwd(), path));
    } catch {
      // As the SDK does: an unreadable file is left out (its exports fail their TLS handshake, counted).
      return undefined;
    }
  };
  const tls = { ca: file('CERTIFICATE'), cert: file('CLIENT_CERTIFICATE'), key: file('CLIENT_KEY') };
  return (protocol) => (protocol === 'http:' ? new UnrefHttpAgent({ keepAlive: true }) : new UnrefHttpsAgent({ keepAlive: true, ...tls }));
}

/** Unref'd at creation and again on reuse (an agent refs a kept-alive socket when it hands it out). */
class UnrefHttpAgent extends HttpAgent {
  override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return unref(super.createConnection(options, callback));
  }
  override reuseSocket(socket: import('node:net').Socket, request: ClientRequest): void {
    super.reuseSocket(socket, request);
    socket.unref();
  }
}

class UnrefHttpsAgent extends HttpsAgent {
  override createConnection(options: HttpsRequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return unref(super.createConnection(options, callback));
  }
  override reuseSocket(socket: import('node:net').Socket, request: ClientRequest): void {
    super.reuseSocket(socket, request);
    socket.unref();
  }
}

function unref(socket: Duplex | null | undefined): Duplex | null | undefined {
  (socket as { unref?: () => void } | null | undefined)?.unref?.();
  return socket;
}

/** ExportResultCode.FAILED */
const FAILED = 1;

/**
 * The OTLP exporter, with a way to give up: `abandon()` fails every export still waiting (the
 * batch processor then clears its export timer) and every later one at once. Used when
 * shutdown's flush deadline has passed: the spans are lost either way, the exit must not wait.
 */
class AbandonableExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #waiting = new Set<(code: number) => void>();
  #abandoned = false;

  constructor(inner: SpanExporter) {
    this.#inner = inner;
  }

  export(spans: ReadableSpan[], done: (result: { code: number; error?: Error }) => void): void {
    if (this.#abandoned) return done({ code: FAILED, error: new Error('exporter closed') });
    let settled = false;
    const finish = (code: number, error?: Error): void => {
      if (settled) return;
      settled = true;
      this.#waiting.delete(giveUp);
      done(error ? { code, error } : { code });
    };
    const giveUp = (code: number): void => finish(code, new Error('export given up at shutdown'));
    this.#waiting.add(giveUp);
    this.#inner.export(spans, (result) => finish(result.code, result.error));
  }

  abandon(): void {
    this.#abandoned = true;
    for (const giveUp of [...this.#waiting]) giveUp(FAILED);
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** `promise`, or resolved after `ms` (what is not exported by then is lost). */
function withDeadline(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}
