import { GatewayError } from '../errors/gateway-error.js';
import type { AttemptOutcome } from '../observability/events.js';
import { UpstreamProtocolError, type UpstreamErrorInfo } from '../providers/types.js';
import { ClientGoneError, DeadlineExceededError, ShuttingDownError } from './abort-reasons.js';

/**
 * How one failed attempt should be treated (docs/errors.md has the table): whether another
 * attempt may help, whether it says something about the deployment's health, and the error
 * the client gets if this is where we stop.
 */
export interface AttemptFailure {
  readonly outcome: AttemptOutcome;
  readonly retryable: boolean;
  readonly countsForBreaker: boolean;
  /** The provider's requested wait (429/503 `Retry-After`), in ms. */
  readonly retryAfterMs: number | undefined;
  readonly error: GatewayError;
  /**
   * This target can never serve this request (its provider cannot express a parameter): try
   * the others, never this one again for this request.
   */
  readonly excludeTarget?: boolean;
}

/** Classifies an upstream HTTP error status. */
export function classifyStatus(status: number, info: UpstreamErrorInfo, retryAfterMs: number | undefined, deployment: string): AttemptFailure {
  if (status === 429) {
    return {
      outcome: 'rate_limited',
      retryable: true,
      countsForBreaker: false,
      retryAfterMs,
      error: new GatewayError('upstream_rate_limited', `The provider is rate limiting requests for this model: ${info.message}`, retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  if (status === 529) {
    // Anthropic's "overloaded": a capacity signal, retried like a 5xx, but the client sees a
    // 503 (protocols.md §2.7) so its SDK reads it as temporary unavailability.
    return {
      outcome: 'server_error',
      retryable: true,
      countsForBreaker: true,
      retryAfterMs,
      error: new GatewayError('upstream_overloaded', `Deployment '${deployment}' is overloaded: ${info.message}`, retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  if (status === 408 || status >= 500) {
    const timeout = status === 408 || status === 504;
    return {
      outcome: timeout ? 'timeout' : 'server_error',
      retryable: true,
      countsForBreaker: true,
      retryAfterMs,
      error: new GatewayError(timeout ? 'upstream_timeout' : 'upstream_error', `Deployment '${deployment}' answered ${status}: ${info.message}`),
    };
  }
  if (status === 401 || status === 403 || info.credentialsRejected === true) {
    // The provider refused *our* credentials: not the client's fault, so not a 401/403 for them.
    return {
      outcome: 'client_error',
      retryable: false,
      countsForBreaker: false,
      retryAfterMs: undefined,
      error: new GatewayError('upstream_error', `Deployment '${deployment}' rejected the gateway's credentials (${status}); an operator must fix its configuration.`),
    };
  }
  return {
    outcome: 'client_error',
    retryable: false,
    countsForBreaker: false,
    retryAfterMs: undefined,
    error: new GatewayError('upstream_client_error', info.message, {
      status: status >= 400 && status < 500 ? status : 502,
      type: info.type,
      param: info.param,
      ...(info.code === null ? {} : { publicCode: info.code }),
    }),
  };
}

/** Classifies an exception thrown while calling an upstream or reading its body. */
export function classifyThrown(err: unknown, signal: AbortSignal, deployment: string): AttemptFailure {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof DeadlineExceededError) {
      return failure('timeout', false, false, new GatewayError('upstream_timeout', `The request did not complete within its ${reason.timeoutMs} ms deadline.`));
    }
    if (reason instanceof ShuttingDownError) {
      // We stopped it ourselves at the end of the drain grace period (D-01): not the provider's fault.
      return failure('aborted', false, false, new GatewayError('shutting_down', 'The gateway is shutting down and its grace period ended before this request completed. Retry it.'));
    }
    const gone = reason instanceof ClientGoneError ? reason : new ClientGoneError();
    return failure('aborted', false, false, new GatewayError('internal_error', gone.message));
  }
  if (err instanceof GatewayError) {
    // Thrown by an adapter before anything was sent: a parameter this provider cannot honour.
    // Another target (or a fallback alias) may be able to; if none is, the client gets this 400.
    return { outcome: 'client_error', retryable: true, countsForBreaker: false, retryAfterMs: undefined, error: err, excludeTarget: true };
  }
  if (isProgrammingError(err)) return internalFailure(err);
  if (err instanceof UpstreamProtocolError) {
    return failure('protocol_error', true, true, new GatewayError('upstream_error', `Deployment '${deployment}' sent an invalid response: ${err.message}.`));
  }
  const code = errorCode(err);
  switch (code) {
    case 'GATEWAY_POOL_SATURATED':
      // Nothing was sent: says nothing about the deployment's health. Another deployment of the
      // alias may have a free connection; this one is not tried again for this request.
      return {
        outcome: 'saturated',
        retryable: true,
        countsForBreaker: false,
        retryAfterMs: undefined,
        excludeTarget: true,
        error: new GatewayError('upstream_saturated', `Every connection to deployment '${deployment}' is busy; no connection became free in time.`, { retryAfterMs: saturatedRetryAfterMs(err) }),
      };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return failure('timeout', true, true, new GatewayError('upstream_timeout', `Deployment '${deployment}' did not answer in time.`));
    case 'UND_ERR_BODY_TIMEOUT':
      return failure('timeout', true, true, new GatewayError('upstream_timeout', `Deployment '${deployment}' stalled while sending its response.`));
    case 'GATEWAY_FIRST_CONTENT_TIMEOUT':
      // Answered, then sent only comments or empty events: as unhealthy as no answer at all.
      return failure('timeout', true, true, new GatewayError('upstream_timeout', `Deployment '${deployment}' sent no content in time.`));
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return failure('connect_error', true, true, new GatewayError('upstream_error', `Could not connect to deployment '${deployment}'.`));
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_CLOSED':
      return failure('reset', true, true, new GatewayError('upstream_error', `Deployment '${deployment}' closed the connection unexpectedly.`));
    default:
      return failure('protocol_error', true, true, new GatewayError('upstream_error', `The call to deployment '${deployment}' failed.`, { cause: err }));
  }
}

/**
 * A bug in the gateway, not a fault of the upstream: not retried (it would fail the same way),
 * not counted against the deployment's breaker, answered 500 with a generic message (the
 * exception text never reaches the client); the cause travels in `error.cause` to the one log line.
 */
export function internalFailure(err: unknown): AttemptFailure {
  return failure('internal', false, false, new GatewayError('internal_error', 'The gateway failed to handle this request.', { cause: err }));
}

/**
 * Exceptions only our own code throws (a TypeError in a translator, a RangeError from a bad
 * argument). Network and upstream failures carry a `code` (Node, undici) or are our
 * UpstreamProtocolError, and stay upstream failures.
 */
function isProgrammingError(err: unknown): boolean {
  // A TypeError carrying a network code (fetch's "fetch failed" with an ECONNREFUSED cause) is not one.
  return (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError) && errorCode(err) === undefined;
}

function failure(outcome: AttemptOutcome, retryable: boolean, countsForBreaker: boolean, error: GatewayError): AttemptFailure {
  return { outcome, retryable, countsForBreaker, retryAfterMs: undefined, error };
}

/** undici errors carry `code`; system errors may be wrapped in `cause`. */
function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 3 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The pool gate's own estimate of when a connection frees (PoolSaturatedError.retryAfterMs), else 1 s. */
function saturatedRetryAfterMs(err: unknown): number {
  const ms = (err as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 1_000 ? ms : 1_000;
}
