/**
 * Runs one batch item through the same pipeline as a live request (handleRequest): the batch's
 * key as it stands now (auth), its limits, budgets, routing, retries and fallbacks, the request
 * log and spend, at `low` priority. The answer is captured in memory instead of sent.
 */
import type { RequestFinishedEvent } from '../../observability/events.js';
import { GatewayError, toGatewayError } from '../../errors/gateway-error.js';
import type { RuntimeLease } from '../../lifecycle/runtime-holder.js';
import { handleRequest } from '../../pipeline/handle-request.js';
import { chatOperation, completionsOperation, embeddingsOperation, type Operation, type OperationRequest } from '../../pipeline/operations.js';
import type { ChatReply, StreamWriter } from '../../pipeline/reply.js';
import { isRecord } from '../../is-record.js';

/** The endpoints a batch may name, and the operation each runs. */
const operations: Readonly<Record<string, Operation<OperationRequest, unknown, unknown>>> = {
  '/v1/chat/completions': chatOperation as Operation<OperationRequest, unknown, unknown>,
  '/v1/completions': completionsOperation as Operation<OperationRequest, unknown, unknown>,
  '/v1/embeddings': embeddingsOperation as Operation<OperationRequest, unknown, unknown>,
};

/** What one run of an item came to. */
export type RunOutcome =
  /** The pipeline answered: a result to keep (2xx, or a failure retries cannot fix) or to retry later. */
  | { readonly kind: 'answered'; readonly statusCode: number; readonly requestId: string; readonly body: unknown; readonly costPico: bigint | null; readonly retryable: boolean; readonly retryAfterMs?: number | undefined; readonly code?: string | undefined }
  /** The run was stopped by `signal` (the gateway is shutting down): no result, the item goes back to the queue. */
  | { readonly kind: 'aborted'; readonly costPico: bigint | null };

export interface ItemToRun {
  readonly keyId: string;
  readonly endpoint: string;
  readonly body: unknown;
}

/**
 * Whether a failed answer may succeed if the item runs again later (minutes apart, unlike the
 * pipeline's own retries): rate and concurrency limits, timeouts, and every 5xx (the upstream
 * down, no deployment available, the shared state or control plane unreachable). A hard budget
 * (`budget_exceeded`) is not: it holds until its window ends, longer than any backoff, so the
 * item is dead-lettered and an admin may replay it. Other 4xx (bad request, revoked key, a model
 * the key may not use) never change by waiting.
 */
/**
 * Refusals by the gateway itself for want of capacity, before anything was sent upstream: the
 * caller's own rate or concurrency limit (the runner ran more than the key may), a deployment's
 * connections (a live request may take a waiting batch item's place), every deployment's breaker
 * open, shared state unreachable. Waiting is the whole remedy, so a run refused this way does not
 * count against `batches.maxAttempts`: the item waits for room (at least its Retry-After) until
 * it runs or its batch's window ends (then `batch_expired`).
 */
const notSentCodes: ReadonlySet<string> = new Set(['rate_limit_exceeded', 'concurrency_limit_exceeded', 'upstream_saturated', 'no_available_deployment', 'rate_limit_unavailable', 'budget_unavailable']);

export function notSentRefusal(code: string | undefined): boolean {
  return code !== undefined && notSentCodes.has(code);
}

export function retryableAnswer(status: number, code: string | undefined): boolean {
  if (code === 'budget_exceeded') return false;
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Runs the item once as request `requestId` (a new UUIDv7: http/request-id.ts). Never throws: a refusal before the pipeline (the key revoked since the
 * batch was created, a stream asked for) is an answer like any other.
 */
export async function runItem(lease: RuntimeLease, item: ItemToRun, requestId: string, signal: AbortSignal, nowMs: () => number): Promise<RunOutcome> {
  const refused = (err: GatewayError): RunOutcome => ({ kind: 'answered', statusCode: err.status, requestId, body: err.toBody(), costPico: null, retryable: retryableAnswer(err.status, err.code), code: err.code });
  const op = operations[item.endpoint];
  if (!op) return refused(new GatewayError('invalid_request', `A batch cannot run requests to ${item.endpoint}.`, { param: 'url' }));
  // Validation refuses streaming items; a row written otherwise must still not open a stream nobody reads.
  if (isRecord(item.body) && item.body.stream === true) return refused(new GatewayError('invalid_request', 'Batch requests cannot stream: remove "stream" from the body.', { param: 'stream' }));
  const { runtime } = lease;
  let principal;
  try {
    principal = runtime.auth.principalForKey(item.keyId);
  } catch (err) {
    return refused(toGatewayError(err));
  }
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  if (signal.aborted) return { kind: 'aborted', costPico: null };
  signal.addEventListener('abort', onAbort, { once: true });
  const reply = new CapturedReply();
  // The request's cost is final only in its finished event; this item's is caught on the way.
  let finished: RequestFinishedEvent | undefined;
  const events = Object.create(runtime.pipeline.events, {
    requestFinished: {
      value: (e: RequestFinishedEvent) => {
        if (e.requestId === requestId) finished = e;
        runtime.pipeline.events.requestFinished(e);
      },
    },
  }) as typeof runtime.pipeline.events;
  try {
    await handleRequest({ ...runtime.pipeline, events }, op, { requestId, authorization: undefined, body: item.body, controller, startMs: nowMs(), principal, priority: 'low' }, reply);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  const costPico = typeof finished?.costPico === 'number' ? BigInt(finished.costPico) : null;
  if (signal.aborted && !reply.succeeded) return { kind: 'aborted', costPico };
  const statusCode = reply.status ?? 500;
  const body = reply.body ?? new GatewayError('internal_error', 'The request ended without an answer.').toBody();
  return { kind: 'answered', statusCode, requestId, body, costPico, retryable: statusCode >= 300 && retryableAnswer(statusCode, reply.code), retryAfterMs: reply.retryAfterMs, code: reply.code };
}

/** A ChatReply that keeps the answer: the item's response is written to the database, not a socket. */
class CapturedReply implements ChatReply {
  status: number | undefined;
  body: unknown;
  code: string | undefined;
  /** The answer's Retry-After (a rate limit, a provider's cooldown): the item's next run waits at least this. */
  retryAfterMs: number | undefined;

  get succeeded(): boolean {
    return this.status !== undefined && this.status >= 200 && this.status < 300;
  }

  json(status: number, body: unknown): void {
    if (this.status !== undefined) return;
    this.status = status;
    this.body = body;
  }

  error(err: GatewayError): void {
    if (this.status !== undefined) return;
    this.status = err.status;
    this.code = err.code;
    this.retryAfterMs = err.retryAfterMs;
    this.body = err.toBody();
  }

  openStream(): StreamWriter {
    // Unreachable: streaming items are refused before the pipeline runs.
    throw new GatewayError('invalid_request', 'Batch requests cannot stream.', { param: 'stream' });
  }
}
