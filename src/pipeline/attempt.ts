import { parseJsonOrText, parseUpstreamJson } from '../providers/stream-json.js';
import type { Priority } from '../queue/priority.js';
import type { UsageRecord } from '../api/chat-types.js';
import type { Clock } from '../clock.js';
import { scrubberFor } from '../errors/scrub.js';
import { ChunkTimings } from '../observability/chunk-timings.js';
import type { AttemptOutcome, GatewayEvents } from '../observability/events.js';
import type { AttemptTrace } from '../observability/tracer.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type StreamTranslator, type UpstreamCall, type UpstreamErrorInfo } from '../providers/types.js';
import { classifyStatus, classifyThrown, type AttemptFailure } from '../resilience/classify.js';
import type { AttemptResult } from '../resilience/execute.js';
import { HedgeLostError } from '../resilience/hedge-attempt.js';
import { parseRateLimitResetMs } from '../resilience/rate-limit-reset.js';
import { parseRetryAfterMs } from '../resilience/retry-after.js';
import type { RouteRequest } from '../routing/route-request.js';
import type { RuntimeTarget } from '../routing/runtime-types.js';
import type { AttemptFeatures } from '../routing/target-stats.js';
import { exchangeUpstream, sendUpstream, type BodyLimits, type CallContext, type UpstreamReply } from '../upstream/send.js';
import { readBodyText } from '../upstream/streamed-response.js';
import type { Operation, OperationRequest } from './operations.js';
import { FirstContentTimeoutError, maxOpeningChunks } from './first-content.js';
import { translateBody } from './stream-body.js';

/** Largest upstream JSON body we will buffer (a completion, or an error body). */
const maxUpstreamBodyBytes = 32 * 1024 * 1024;
const maxErrorBodyBytes = 64 * 1024;
const bodyLimits: BodyLimits = { maxBytes: maxUpstreamBodyBytes, maxErrorBytes: maxErrorBodyBytes };

export interface AttemptDeps {
  readonly clock: Clock;
  readonly events: GatewayEvents;
}

/** One attempt at one target; the pipeline builds it per attempt, so it also carries the target and its number. */
export interface AttemptInput<Req extends OperationRequest> {
  readonly target: RuntimeTarget;
  /** 1-based number of this attempt within the request. */
  readonly attempt: number;
  readonly requestId: string;
  readonly operation: Operation<Req, unknown, unknown>['name'];
  readonly request: Req;
  readonly signal: AbortSignal;
  /** Whose share of a deployment's connections the attempt takes. */
  readonly tenant: string;
  /** The request's priority class and its tenant's weight: its place when it waits for a connection. */
  readonly priority: Priority;
  readonly weight: number;
  /** Monotonic ms when the request's deadline passes: no wait for a connection goes past it. */
  readonly deadlineMs: number;
  readonly responseContext: ResponseContext;
  /**
   * Builds the call to send to `target` (once per target: the pipeline's refusal check usually
   * built it already). Called inside the attempt, so a throw is this attempt's failure.
   */
  readonly upstreamCall: (target: RuntimeTarget) => UpstreamCall;
  /** The request's record: it adds up the upstream wait and keeps the attempt log. */
  readonly record: AttemptRecorder;
  /** This attempt's client span: its trace headers go upstream, its end is told below. */
  readonly trace?: AttemptTrace | undefined;
  /** What routing knows of the request: its tokens count toward the deployment's load while the attempt runs. */
  readonly route: RouteRequest;
}

/** What an attempt tells its request's record (RequestRecord implements it). */
export interface AttemptRecorder {
  /** Adds this attempt's upstream wait to the request's total. */
  addUpstreamMs(ms: number): void;
  /** Records the attempt in the request's attempt log. */
  logAttempt(n: number, alias: string, deployment: string, startedMs: number, durationMs: number, outcome: AttemptOutcome, status: number | null, ttftMs: number | null): void;
}

export interface JsonValue<Res> {
  readonly body: Res;
  readonly usage: UsageRecord;
  /** The model the upstream says served (reportedModel), when it says. */
  readonly upstreamModel: string | undefined;
}

/** A stream that passed its commit point: its first chunks and the rest still to read. */
export interface StreamValue<Chunk> {
  readonly first: readonly Chunk[];
  /** True when the first step already ended the stream. */
  readonly done: boolean;
  readonly rest: AsyncGenerator<StreamStep<Chunk>, void, undefined>;
  /** Destroys the upstream body at once, even while `rest` waits for its next read. */
  readonly cancel: () => void;
  readonly translator: StreamTranslator<Chunk>;
  /** Monotonic ms when the attempt started and when its first chunk arrived. */
  readonly startedMs: number;
  readonly firstChunkMs: number;
  /**
   * Ends the attempt's record, once, when the stream is over: its outcome (success, or how it
   * failed mid-way) and a duration that covers the whole stream. Later calls do nothing.
   */
  readonly end: (how?: StreamEnd, usage?: UsageRecord) => void;
}

/** How a committed stream ended, when not well: an error event from the upstream, or a failure classified by the pump. */
export type StreamEnd = { readonly error: UpstreamErrorInfo } | { readonly outcome: AttemptOutcome };

/** One non-streaming attempt: send, read the whole body, translate. Never throws for upstream failures. */
export async function jsonAttempt<Req extends OperationRequest, Res>(
  deps: AttemptDeps,
  op: Operation<Req, Res, unknown>,
  input: AttemptInput<Req>,
): Promise<AttemptResult<JsonValue<Res>>> {
  const started = deps.clock.nowMs();
  const { target } = input;
  const d = target.deployment;
  const features = begin(input, started);
  try {
    const res = await exchangeUpstream(d.endpoint, input.upstreamCall(target), callContext(deps, input), bodyLimits);
    if (res.statusCode < 200 || res.statusCode >= 300) return fail(deps, input, started, statusFailure(deps, target, res), { status: res.statusCode, features });
    const { value, usage, upstreamModel } = op.decode(d.adapter, input.request, parseJson(res.text ?? ''), input.responseContext, target.targetInfo);
    finished(deps, input, started, 'success', { status: res.statusCode, responseModel: upstreamModel, outputTokens: usage.completionTokens, features });
    return { ok: true, value: { body: value, usage, upstreamModel } };
  } catch (err) {
    return fail(deps, input, started, classifyThrown(err, input.signal, d.name), { features });
  }
}

/**
 * One streaming attempt, up to the commit point: resolves once the first chunk with content (a
 * tool call, a finish: `op.hasContent`) is translated, holding back opening chunks (OpenAI's
 * role-only chunk), so a provider that fails at once (bad status, error-only stream, a reset
 * right after its role chunk) can still be retried or failed over (F-14). An upstream that
 * sends no content within `firstContentTimeoutMs` of its headers (only comments or empty
 * events) fails the attempt like a first-byte timeout: retryable, counted by the breaker.
 */
export async function streamAttempt<Req extends OperationRequest, Chunk>(
  deps: AttemptDeps,
  op: Operation<Req, unknown, Chunk>,
  input: AttemptInput<Req>,
): Promise<AttemptResult<StreamValue<Chunk>>> {
  const started = deps.clock.nowMs();
  const { target } = input;
  const d = target.deployment;
  let rest: AsyncGenerator<StreamStep<Chunk>, void, undefined> | undefined;
  const timings = new ChunkTimings();
  const features = begin(input, started);
  try {
    const res = await sendUpstream(d.endpoint, input.upstreamCall(target), callContext(deps, input));
    if (res.statusCode < 200 || res.statusCode >= 300) {
      // An unreadable error body still has a status worth reporting.
      const text = await readBodyText(res.body, maxErrorBodyBytes).catch(() => undefined);
      return fail(deps, input, started, statusFailure(deps, target, { statusCode: res.statusCode, headers: res.headers, text }), { status: res.statusCode, timings, features });
    }
    const translator = scrubbingTranslator(op.streamTranslator(d.adapter, input.responseContext, input.request, target.targetInfo), target);
    // Upstream chunks are timed as they are decoded: the upstream's chunks, not the client's
    // (a translation may make several of one, or none).
    rest = translateBody(res.body, translator, d.adapter.streamFraming, (count) => timings.arrived(deps.clock.nowMs(), count));
    const timeoutMs = d.endpoint.firstContentTimeoutMs;
    // Destroying the body with the error makes the pending read (and so the attempt) fail with it.
    const timer = setTimeout(() => res.body.destroy(new FirstContentTimeoutError(timeoutMs)), timeoutMs);
    const first: Chunk[] = [];
    try {
      for (;;) {
        const next = await rest.next();
        if (next.done) throw new UpstreamProtocolError('stream ended without any event');
        const step = next.value;
        if (step.error) {
          await rest.return(undefined);
          const failure = classifyStatus(step.error.status ?? 500, step.error, undefined, d.name);
          return fail(deps, input, started, failure, { timings, features });
        }
        first.push(...step.chunks);
        if (step.done || first.length > maxOpeningChunks || step.chunks.some(op.hasContent)) {
          const firstChunkMs = deps.clock.nowMs();
          // The upstream wait (for overhead) and the routing latency stop at the commit point;
          // the attempt's event waits for the end of the stream (StreamValue.end).
          input.record.addUpstreamMs(firstChunkMs - started);
          const status = res.statusCode;
          let ended = false;
          // `usage`: the stream's, when the caller already has it (counting it can cost a tokenizer pass).
          const end = (how?: StreamEnd, usage?: UsageRecord): void => {
            if (ended) return;
            ended = true;
            const outcome = how === undefined ? 'success' : 'outcome' in how ? how.outcome : classifyStatus(how.error.status ?? 500, how.error, undefined, d.name).outcome;
            const endStatus = how !== undefined && 'error' in how ? how.error.status ?? undefined : status;
            finished(deps, input, started, outcome, { status: endStatus, responseModel: translator.upstreamModel?.(), timings, ttftMs: firstChunkMs - started, waitCounted: true, outputTokens: how === undefined ? (usage ?? translator.usage()).completionTokens : undefined, features });
          };
          return { ok: true, value: { first, done: step.done, rest, cancel: () => res.body.destroy(), translator, startedMs: started, firstChunkMs, end } };
        }
      }
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    await rest?.return(undefined).catch(() => undefined);
    return fail(deps, input, started, classifyThrown(err, input.signal, d.name), { timings, features });
  }
}

/**
 * The attempt starts: its tokens count toward the deployment's load until `finished`, and the
 * prompt's prefix blocks (when a strategy computed them) are remembered as sent there. Returns
 * the load it found, when a strategy learns from it (TargetStats.wantsFeatures).
 */
function begin(input: AttemptInput<OperationRequest>, nowMs: number): AttemptFeatures | undefined {
  const { target, route } = input;
  const load = target.deployment.load;
  const blocks = route.prefixBlocksIfComputed;
  let features: AttemptFeatures | undefined;
  if (target.stats.wantsFeatures) {
    const scraped = load.fresh(nowMs);
    features = {
      inputTokens: route.promptTokens,
      prefixHit: blocks === undefined || blocks.length === 0 ? 0 : load.prefixMatch(blocks) / blocks.length,
      inFlight: load.inFlight,
      inFlightTokens: load.inFlightTokens,
      waiting: scraped?.waiting,
      kvCacheUsage: scraped?.kvCacheUsage,
    };
  }
  if (blocks !== undefined && blocks.length > 0) load.rememberPrefix(blocks);
  load.begin(route.tokens);
  return features;
}

/** The wait for a connection ends at the pool-queue limit or the deadline, whichever is first. */
function callContext(deps: AttemptDeps, input: AttemptInput<OperationRequest>): CallContext {
  const maxWaitMs = Math.min(input.target.deployment.endpoint.poolQueueMs, input.deadlineMs - deps.clock.nowMs());
  return { signal: input.signal, tenant: input.tenant, maxWaitMs, priority: input.priority, weight: input.weight, traceHeaders: input.trace?.headers };
}

function statusFailure(deps: AttemptDeps, target: RuntimeTarget, res: UpstreamReply): AttemptFailure {
  const body = parseJsonOrText(res.text);
  const header = (name: string): string | undefined => headerValue(res.headers, name);
  const info = scrubInfo(target.deployment.adapter.errorInfo(res.statusCode, body, header), target);
  // The provider's wait sets the deployment's cooldown, and through it the Retry-After a client
  // gets on our 429. Its quota headers themselves are never passed on (docs/errors.md).
  const retryAfterMs = parseRetryAfterMs(header, deps.clock.wallMs()) ?? info.retryAfterMs ?? (res.statusCode === 429 ? parseRateLimitResetMs(header) : undefined);
  return classifyStatus(res.statusCode, info, retryAfterMs, target.deployment.name);
}

/**
 * Adapters scrub key-shaped strings only; an upstream that echoes our key back in an error can
 * use any key format (Azure, vLLM, Triton) and any encoding (base64 in an echoed Basic header,
 * URL-encoded in an echoed URL, the last 20 characters in "key ending in …"), so the
 * deployment's own secrets are removed in those forms too (S-18). `code` and `param` are the
 * upstream's words as well and reach the client on a 4xx.
 */
function scrubInfo(info: UpstreamErrorInfo, target: RuntimeTarget): UpstreamErrorInfo {
  const secrets = target.deployment.endpoint.secrets;
  if (secrets.length === 0) return info;
  const scrub = scrubberFor(secrets);
  return { ...info, message: scrub(info.message), code: info.code === null ? null : scrub(info.code), param: info.param === null ? null : scrub(info.param) };
}

/** The same for errors an upstream sends inside a stream, before or after the commit point. */
function scrubbingTranslator<Chunk>(translator: StreamTranslator<Chunk>, target: RuntimeTarget): StreamTranslator<Chunk> {
  const scrub = (step: StreamStep<Chunk>): StreamStep<Chunk> => (step.error ? { ...step, error: scrubInfo(step.error, target) } : step);
  return {
    onEvent: (event) => scrub(translator.onEvent(event)),
    onEnd: () => scrub(translator.onEnd()),
    usage: () => translator.usage(),
    upstreamModel: () => translator.upstreamModel?.(),
  };
}

/** What is known about how an attempt ended, besides its outcome. */
interface AttemptEndDetail {
  /** The upstream's HTTP status, when it answered (an error status for a failed attempt). */
  readonly status?: number | undefined;
  readonly responseModel?: string | undefined;
  /** A stream attempt's chunk arrival times (the streaming client instruments). */
  readonly timings?: ChunkTimings | undefined;
  /** Ms from the attempt's start to its first content (a stream's commit point), for the attempt log. */
  readonly ttftMs?: number | undefined;
  /** True when its upstream wait was already added (a stream, at its commit point). */
  readonly waitCounted?: boolean;
  /** Output tokens the upstream reported (or we estimated), for the target's TPOT. */
  readonly outputTokens?: number | undefined;
  /** The load the attempt started under (begin), when a strategy learns from it. */
  readonly features?: AttemptFeatures | undefined;
}

function fail<T>(deps: AttemptDeps, input: AttemptInput<OperationRequest>, started: number, failure: AttemptFailure, detail: AttemptEndDetail = {}): AttemptResult<T> {
  finished(deps, input, started, failure.outcome, detail);
  return { ok: false, failure };
}

/** Announces an attempt's end: its span, its log entry, its event (metrics, logs) and its share of the upstream wait. */
function finished(deps: AttemptDeps, input: AttemptInput<OperationRequest>, started: number, outcome: AttemptOutcome, detail: AttemptEndDetail): void {
  const { status, responseModel, timings } = detail;
  const endMs = deps.clock.nowMs();
  const durationMs = endMs - started;
  input.trace?.end({ outcome, status, responseModel, stream: input.request.stream });
  if (!detail.waitCounted) input.record.addUpstreamMs(durationMs);
  const { target } = input;
  const d = target.deployment;
  d.load.end(input.route.tokens);
  // A hedge's loser stopped before its first content was at least this slow to it.
  const ttftAtLeast = outcome === 'aborted' && detail.ttftMs === undefined && input.signal.reason instanceof HedgeLostError;
  target.stats.observe({ endMs, outcome, stream: input.request.stream, durationMs, ttftMs: detail.ttftMs, outputTokens: detail.outputTokens, features: detail.features, ttftAtLeast, generates: input.operation !== 'embeddings' });
  input.record.logAttempt(input.attempt, target.alias, d.name, started, durationMs, outcome, status ?? null, detail.ttftMs ?? null);
  deps.events.attemptFinished({
    requestId: input.requestId,
    alias: target.alias,
    deployment: d.name,
    genAiProvider: d.genAiProvider,
    upstreamModel: target.upstreamModel,
    responseModel: responseModel ?? target.upstreamModel,
    serverAddress: d.serverAddress,
    serverPort: d.serverPort,
    operation: input.operation,
    attempt: input.attempt,
    outcome,
    status,
    durationMs,
    ...(timings ? { timeToFirstChunkMs: timings.firstMs === undefined ? undefined : timings.firstMs - started, chunkGaps: timings.gaps } : {}),
  });
}

function parseJson(text: string): unknown {
  return parseUpstreamJson(text, 'response body is not JSON');
}

function headerValue(headers: UpstreamReply['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
