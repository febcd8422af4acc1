import type { Principal } from '../auth/principal.js';
import { GatewayError } from '../errors/gateway-error.js';
import { traceIdOf } from '../observability/trace-context.js';
import type { ProviderAdapter, TargetInfo, UpstreamCall } from '../providers/types.js';
import { parseJsonOrText } from '../providers/stream-json.js';
import { effectivePriority, priorityHeader } from '../queue/effective-priority.js';
import type { Priority } from '../queue/priority.js';
import { classifyStatus, classifyThrown } from '../resilience/classify.js';
import type { RoutePlan, RuntimeTarget } from '../routing/runtime-types.js';
import { exchangeUpstream, type BodyLimits } from '../upstream/send.js';
import type { Ticket } from './admission.js';
import { armDeadline, failBeforeCommit, type Pipeline } from './handle-request.js';
import type { ChatReply, RequestContext } from './reply.js';
import { RequestRecord } from './request-record.js';

/**
 * A token-counting endpoint (`/v1/messages/count_tokens`, `/v1/responses/input_tokens`): how to
 * parse its body, the provider's count call where the serving deployment has one, our
 * tokenizer's count otherwise, and the answer's shape.
 */
export interface CountOperation<Req extends { readonly model: string }> {
  readonly route: string;
  /** Validates the body (and headers the API defines); throws GatewayError (400 naming the parameter). */
  parse(body: unknown, headers: Readonly<Record<string, string | string[] | undefined>>): Req;
  /**
   * The provider's own count call for this request on this target, or undefined when it has
   * none (the tokenizer answers). A GatewayError thrown (the provider cannot express the
   * request) also means the tokenizer answers.
   */
  upstreamCall(adapter: ProviderAdapter, request: Req, target: TargetInfo): UpstreamCall | undefined;
  /** Our tokenizer's count (bounded work for any input). */
  estimate(request: Req): number;
  /** The JSON answer for a count. */
  answer(inputTokens: number): unknown;
}

/** Says where a count came from: the provider's endpoint, or our tokenizer. */
export const tokenCountHeader = 'x-gateway-token-count';

/** A count answer is one small object; anything bigger is not one. */
const countBodyLimits: BodyLimits = { maxBytes: 64 * 1024, maxErrorBytes: 64 * 1024 };

/**
 * One counting request, top to bottom: auth → validate → model authorization → admission (a
 * concurrency slot and one request against the request limits; no tokens reserved, no budget
 * checked: counting costs nothing, so a team over budget may still count) → the provider's count
 * endpoint on the first healthy target of the route plan, when it has one, else our tokenizer.
 *
 * An upstream count that fails (an error status, a timeout of the deployment's first byte, an
 * answer without a count) is not the client's problem: the tokenizer answers instead, marked as
 * an estimate; the failed attempt is in the request's attempt log, and the deployment's breaker
 * and cooldowns are left alone (a missing count endpoint says nothing about generation). The
 * request deadline (`timeouts.totalMs`) and the client's disconnect end the request as they end
 * any other (504, or nothing sent). Never throws: one recorded outcome per request, in `finally`.
 */
export async function handleCountTokens<Req extends { readonly model: string }>(p: Pipeline, op: CountOperation<Req>, ctx: RequestContext, reply: ChatReply): Promise<void> {
  // Counting is no GenAI operation: its record is not in the chat instruments (operation unset).
  const record = new RequestRecord(ctx.requestId, op.route, 'chat', ctx.startMs, p.clock);
  // Not traced (no spans), but a client's trace id still goes in the log, as on the edge's own answers.
  record.traceId = traceIdOf(ctx.headers?.traceparent);
  const deadline = ctx.controller;
  const deadlineTimer = armDeadline(deadline, p.timeouts.totalMs);
  const headers: Record<string, string> = {};
  let ticket: Ticket | undefined;
  try {
    const found = ctx.principal ?? p.auth.authenticate(ctx.authorization, ctx.acceptsXApiKey);
    const principal = found instanceof Promise ? await found : found;
    record.identify(principal);
    const request = op.parse(ctx.body, ctx.headers ?? {});
    const model = p.router.find(request.model);
    record.model = model.alias;
    p.router.authorize(model, principal);
    const priority = effectivePriority(ctx.priority, principal, ctx.headers);
    const weight = principal.queue?.weight ?? 1;
    if (ctx.headers?.[priorityHeader] !== undefined) headers[priorityHeader] = priority;
    const deadlineMs = ctx.startMs + p.timeouts.totalMs;
    const wait = p.admission.queueing ? { priority, weight, signal: deadline.signal, deadlineMs } : undefined;
    ticket = await p.admission.admitRequestOnly(principal, model, wait);
    Object.assign(headers, ticket.headers);

    const target = firstHealthyTarget(p.router.plan(model, principal));
    const call = target && upstreamCallOf(op, target, request);
    const counted = target && call ? await countUpstream(p, record, target, call, { signal: deadline.signal, principal, priority, weight, deadlineMs }) : undefined;
    if (counted !== undefined && target) {
      headers[tokenCountHeader] = 'upstream';
      headers['x-gateway-provider'] = target.deployment.name;
      headers['x-gateway-model'] = target.alias;
      record.servedModel = target.alias;
      record.deployment = target.deployment.name;
    } else headers[tokenCountHeader] = 'estimate';
    const inputTokens = counted ?? op.estimate(request);
    // The tokenizer's work is bounded, but a deadline that passed meanwhile still wins.
    if (deadline.signal.aborted) throw deadline.signal.reason;
    await reply.json(200, op.answer(inputTokens), headers);
    record.succeed(200);
  } catch (err) {
    // An abort (deadline, drain, client gone) becomes the error any request gets for it.
    const error = deadline.signal.aborted && !(err instanceof GatewayError) ? classifyThrown(err, deadline.signal, '').error : err;
    failBeforeCommit(error, record, reply, headers, ctx.controller.signal);
  } finally {
    clearTimeout(deadlineTimer);
    // No usage: nothing to reconcile; the concurrency slot is given back.
    ticket?.settle(undefined, undefined);
    if (record.internalCause !== undefined) p.events.internalError({ requestId: ctx.requestId, error: record.internalCause });
    p.events.requestFinished({ ...record.toEvent(), operation: undefined });
  }
}

/**
 * The target a request for this plan would most likely be served by: the first one, in plan
 * order, whose breaker is not open. Undefined when every breaker is open (the tokenizer counts).
 */
function firstHealthyTarget(plan: RoutePlan): RuntimeTarget | undefined {
  for (const group of plan.groups) for (const t of group.targets) if (t.deployment.breaker.state !== 'open') return t;
  return undefined;
}

function upstreamCallOf<Req extends { readonly model: string }>(op: CountOperation<Req>, target: RuntimeTarget, request: Req): UpstreamCall | undefined {
  try {
    return op.upstreamCall(target.deployment.adapter, request, target.targetInfo);
  } catch (err) {
    // The provider cannot express this request: its count would not be the request's.
    if (err instanceof GatewayError) return undefined;
    throw err;
  }
}

interface CountCallContext {
  readonly signal: AbortSignal;
  readonly principal: Principal;
  readonly priority: Priority;
  readonly weight: number;
  readonly deadlineMs: number;
}

/**
 * The provider's count, or undefined when its answer is not one (the caller estimates). Rethrows
 * only the request's own abort (deadline, drain, client gone): those end the request.
 */
async function countUpstream(p: Pipeline, record: RequestRecord, target: RuntimeTarget, call: UpstreamCall, c: CountCallContext): Promise<number | undefined> {
  const d = target.deployment;
  const started = p.clock.nowMs();
  const log = (outcome: Parameters<RequestRecord['logAttempt']>[5], status: number | null): void => {
    const durationMs = p.clock.nowMs() - started;
    record.addUpstreamMs(durationMs);
    record.logAttempt(1, target.alias, d.name, started, durationMs, outcome, status, null);
    record.attempts = 1;
  };
  try {
    const maxWaitMs = Math.min(d.endpoint.poolQueueMs, c.deadlineMs - p.clock.nowMs());
    const res = await exchangeUpstream(d.endpoint, call, { signal: c.signal, tenant: c.principal.tenant, maxWaitMs, priority: c.priority, weight: c.weight }, countBodyLimits);
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const info = d.adapter.errorInfo(res.statusCode, parseJsonOrText(res.text));
      log(classifyStatus(res.statusCode, info, undefined, d.name).outcome, res.statusCode);
      return undefined;
    }
    const count = d.adapter.countTokensResponse?.(parseJsonOrText(res.text));
    log(count === undefined ? 'protocol_error' : 'success', res.statusCode);
    return count;
  } catch (err) {
    log(classifyThrown(err, c.signal, d.name).outcome, null);
    if (c.signal.aborted) throw err;
    return undefined;
  }
}
