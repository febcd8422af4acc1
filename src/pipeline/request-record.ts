import type { UsageRecord } from '../api/chat-types.js';
import type { Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import { costOf, type Price } from '../spend/price.js';
import type { GatewayError } from '../errors/gateway-error.js';
import { MAX_ATTEMPT_LOG, type AttemptLogEntry, type AttemptOutcome, type RequestFinishedEvent, type RequestOutcome, type UpstreamLabels } from '../observability/events.js';
import type { AttemptRecorder } from './attempt.js';
import type { PayloadCapture } from './payload-capture.js';

/** Collects what the request log line and metrics need while a request moves through the flow. */
export class RequestRecord implements AttemptRecorder {
  tenant: string | undefined;
  model = 'unknown';
  servedModel: string | undefined;
  deployment: string | undefined;
  attempts = 0;
  stream = false;
  status = 0;
  outcome: RequestOutcome = 'internal_error';
  errorCode: string | undefined;
  timeToFirstTokenMs: number | undefined;
  upstreamMs = 0;
  usage: UsageRecord | undefined;
  upstream: UpstreamLabels | undefined;
  /** Chat parameters the serving provider ignored (x-gateway-ignored-params). */
  ignoredParams: readonly string[] | undefined;
  /** The serving target's price (undefined: unknown, so the cost is null). */
  price: Price | undefined;
  /** Picodollars; null: served by a target with no known price; undefined: nothing served. */
  costPico: number | null | undefined;
  keyId: string | undefined;
  user: string | undefined;
  /** The prompt and completion, captured only for a team that stores them. */
  payload: PayloadCapture | undefined;
  /** What a bug threw (outcome internal_error); logged once when the request ends. */
  internalCause: unknown;
  /** The request's trace id (RequestFinishedEvent.traceId). */
  traceId: string | undefined;
  /** The attempts so far (at most MAX_ATTEMPT_LOG), for the request log's timeline. */
  attemptLog: Array<Mutable<AttemptLogEntry>> | undefined;
  /** The last upstream wait added (merged with any it overlapped), in monotonic ms; NaN before one. */
  #lastWaitStartMs = NaN;
  #lastWaitEndMs = NaN;

  constructor(
    readonly requestId: string,
    readonly route: string,
    readonly operation: 'chat' | 'text_completion' | 'embeddings',
    private readonly startMs: number,
    private readonly clock: Clock,
  ) {}

  /** Records who made the request (its team, key and person), once authenticated. */
  identify(principal: Pick<Principal, 'tenant' | 'keyId' | 'user'>): void {
    this.tenant = principal.tenant;
    this.keyId = principal.keyId;
    this.user = principal.user;
  }

  /** Records a response that ended well. */
  succeed(status: number): void {
    this.status = status;
    this.outcome = 'success';
  }

  /** Records the error the client got (or would have got, had it stayed). */
  failWith(err: GatewayError, outcome: RequestOutcome): void {
    this.status = err.status;
    this.outcome = outcome;
    this.errorCode = err.code;
  }

  /** Prices the (sane) usage once the request has ended: called in the flow's `finally`. */
  priceUsage(): void {
    if (this.usage === undefined || this.deployment === undefined) return;
    this.costPico = this.price ? costOf(this.usage, this.price) : null;
  }

  /**
   * Adds an upstream wait of `ms` that ends now. Attempts follow one another, except a hedged
   * pair whose waits overlap: only the part outside the previous wait is added, so the upstream
   * time is wall time and the gateway's overhead (duration minus it) never goes negative.
   */
  addUpstreamMs(ms: number): void {
    const endMs = this.clock.nowMs();
    const startMs = endMs - ms;
    // NaN compares false: the first wait is always added whole.
    if (!(startMs < this.#lastWaitEndMs)) {
      this.upstreamMs += ms;
      this.#lastWaitStartMs = startMs;
      this.#lastWaitEndMs = endMs;
      return;
    }
    const mergedStart = Math.min(this.#lastWaitStartMs, startMs);
    const mergedEnd = Math.max(this.#lastWaitEndMs, endMs);
    this.upstreamMs += mergedEnd - mergedStart - (this.#lastWaitEndMs - this.#lastWaitStartMs);
    this.#lastWaitStartMs = mergedStart;
    this.#lastWaitEndMs = mergedEnd;
  }

  /**
   * Records an attempt as it ends (`startedMs`: monotonic). The one before it, if it failed, led
   * to this one: a retry on the same alias or a fallback to another.
   */
  logAttempt(n: number, alias: string, deployment: string, startedMs: number, durationMs: number, outcome: AttemptOutcome, status: number | null, ttftMs: number | null): void {
    const log = (this.attemptLog ??= []);
    const previous = log.at(-1);
    if (previous && previous.outcome !== 'success' && previous.next === null) previous.next = previous.alias === alias ? 'retry' : 'fallback';
    if (log.length >= MAX_ATTEMPT_LOG) return;
    log.push({ n, alias, deployment, startMs: Math.max(0, Math.round(startedMs - this.startMs)), durationMs: Math.round(durationMs), outcome, status, ttftMs: ttftMs === null ? null : Math.round(ttftMs), next: null, reason: outcome === 'success' ? null : outcome });
  }

  markFirstToken(): void {
    this.timeToFirstTokenMs ??= this.clock.nowMs() - this.startMs;
  }

  toEvent(): RequestFinishedEvent {
    return {
      requestId: this.requestId,
      route: this.route,
      operation: this.operation,
      tenant: this.tenant,
      model: this.model,
      servedModel: this.servedModel,
      deployment: this.deployment,
      attempts: this.attempts,
      status: this.status,
      outcome: this.outcome,
      errorCode: this.errorCode,
      stream: this.stream,
      durationMs: this.clock.nowMs() - this.startMs,
      timeToFirstTokenMs: this.timeToFirstTokenMs,
      upstreamMs: this.upstreamMs,
      usage: this.usage,
      upstream: this.upstream,
      ignoredParams: this.ignoredParams,
      costPico: this.costPico,
      keyId: this.keyId,
      user: this.user,
      ...(this.payload ? { payload: this.payload.toPayload() } : {}),
      traceId: this.traceId,
      attemptLog: this.attemptLog,
    };
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The request outcome implied by the error a client gets. */
export function outcomeForError(err: GatewayError, attemptOutcome?: AttemptOutcome | 'no_target'): RequestOutcome {
  if (attemptOutcome === 'aborted') return 'client_disconnect';
  if (attemptOutcome === 'no_target') return 'no_available_target';
  switch (err.code) {
    case 'missing_api_key':
    case 'invalid_api_key':
    case 'model_not_allowed':
      return 'auth_error';
    case 'rate_limit_exceeded':
    case 'concurrency_limit_exceeded':
    case 'rate_limit_unavailable': // admission refused: a fail-closed limit could not be checked
    case 'budget_exceeded': // admission refused: a hard budget had no room
    case 'budget_unavailable':
    case 'upstream_rate_limited':
      return 'rate_limited';
    case 'upstream_timeout':
      return 'timeout';
    case 'no_available_deployment':
    case 'upstream_saturated':
      return 'no_available_target';
    case 'upstream_error':
    case 'upstream_client_error':
      return 'upstream_error';
    case 'internal_error':
      return 'internal_error';
    case 'shutting_down':
      return 'no_available_target';
    default:
      return 'client_error';
  }
}
