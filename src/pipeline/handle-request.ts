import type { UsageRecord } from '../api/chat-types.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { TimeoutsConfig } from '../config/schema.js';
import { GatewayError, toGatewayError } from '../errors/gateway-error.js';
import type { GatewayEvents } from '../observability/events.js';
import { passThroughTracer, type ResponseDetails, type Tracer } from '../observability/tracer.js';
import type { ResponseContext, UpstreamCall } from '../providers/types.js';
import { ClientGoneError, DeadlineExceededError, ShuttingDownError } from '../resilience/abort-reasons.js';
import { classifyThrown } from '../resilience/classify.js';
import { ExecuteError, type Executor } from '../resilience/execute.js';
import type { RetryBudget } from '../resilience/retry-budget.js';
import { RouteRequest, sloFromHeaders } from '../routing/route-request.js';
import type { Router } from '../routing/router.js';
import type { RuntimeModel, RuntimeTarget } from '../routing/runtime-types.js';
import type { Admission, Ticket } from './admission.js';
import { jsonAttempt, streamAttempt, type AttemptDeps, type AttemptInput, type StreamValue } from './attempt.js';
import { addCost, costHeaders } from './cost-reply.js';
import { drainAfterDone } from './stream-body.js';
import type { Operation, OperationRequest } from './operations.js';
import type { ChatReply, RequestContext, StreamWriter } from './reply.js';
import { PayloadCapture } from './payload-capture.js';
import { outcomeForError, RequestRecord } from './request-record.js';
import { saneUsage, type Reservation } from './sane-usage.js';
import { ceilingError, costCeiling, fitsCeiling, requireSomeTargetFits } from './cost-ceiling.js';
import { BudgetExceededError } from './budget-admission.js';
import { effectivePriority, priorityHeader } from '../queue/effective-priority.js';

/** Everything the request flow needs, built once by the composition root. */
export interface Pipeline {
  readonly clock: Clock;
  readonly events: GatewayEvents;
  readonly auth: Authenticator;
  readonly router: Router;
  readonly admission: Admission;
  readonly executor: Executor;
  readonly budget: RetryBudget;
  readonly timeouts: TimeoutsConfig;
  readonly newCompletionId: () => string;
  /** Spans (tracing on), else trace-context pass-through (observability/tracer.ts). */
  readonly tracer?: Tracer;
}

/**
 * One API request, top to bottom: auth → validate → route → admit → execute the plan (retries
 * and fallbacks happen in there, before the commit point) → reply. The same flow serves chat,
 * legacy completions and embeddings; `op` says how to parse and which adapter capability to
 * call. Never throws: every request ends in exactly one outcome, recorded once in `finally`.
 */
export async function handleRequest<Req extends OperationRequest, Res, Chunk>(
  p: Pipeline,
  op: Operation<Req, Res, Chunk>,
  ctx: RequestContext,
  reply: ChatReply,
): Promise<void> {
  const record = new RequestRecord(ctx.requestId, op.route, op.name, ctx.startMs, p.clock);
  // The request's one controller: the client's disconnect, the drain and the deadline abort it.
  const deadline = ctx.controller;
  const deadlineTimer = armDeadline(deadline, p.timeouts.totalMs);
  const headers: Record<string, string> = {};
  let ticket: Ticket | undefined;
  // Tickets of fallback aliases the request was admitted to (each against its own limits).
  let fallbackTickets: Array<{ alias: string; ticket: Ticket }> | undefined;
  let reserved: Reservation | undefined;
  let usageFinal = false;
  const trace = (p.tracer ?? passThroughTracer).startRequest({ requestId: ctx.requestId, route: op.route, operation: op.name, headers: ctx.headers, startMs: ctx.startMs });
  record.traceId = trace.traceId;
  let details: ResponseDetails | undefined;
  /**
   * The one place a request's usage becomes final, once: checked against what was reserved (a
   * hostile upstream's absurd counts become the estimate), counted when estimated, and priced.
   * A JSON reply settles before it is sent (its cost is a header), a stream when it ends (its
   * cost is in the final usage chunk), anything else when the request ends.
   */
  const settleUsage = (usage: UsageRecord | undefined): void => {
    if (usageFinal) return;
    usageFinal = true;
    record.usage = usage && reserved ? saneUsage(usage, reserved) : usage;
    if (record.usage?.estimated) p.events.usageEstimated({ model: record.servedModel ?? record.model });
    record.priceUsage();
  };
  p.budget.requestStarted();
  try {
    const found = ctx.principal ?? p.auth.authenticate(ctx.authorization, ctx.acceptsXApiKey);
    // Only a JWT not yet verified needs an await; keys cost no extra turn of the event loop.
    const principal = found instanceof Promise ? await found : found;
    record.identify(principal);
    if (principal.payloads) record.payload = new PayloadCapture(principal.payloads, ctx.body);
    const request = op.parse(ctx.body, ctx.headers ?? {});
    record.stream = request.stream;
    let model = p.router.find(request.model);
    record.model = model.alias;
    p.router.authorize(model, principal);
    const promptTokens = op.promptTokens(request);
    reserved = { promptTokens, outputTokens: op.outputReserve(request, model) };
    // Before any reservation: a request no target can serve within its cost ceiling is a 400.
    const ceiling = costCeiling(principal, ctx.headers);
    requireSomeTargetFits(model, reserved, ceiling);
    // Its place in every queue: strict priority between classes, the team's weight within one.
    const priority = effectivePriority(ctx.priority, principal, ctx.headers);
    const slo = sloFromHeaders(ctx.headers);
    const weight = principal.queue?.weight ?? 1;
    if (ctx.headers?.[priorityHeader] !== undefined) headers[priorityHeader] = priority;
    // Only with the queue on may admission wait for a slot (and only then is this built).
    const wait = p.admission.queueing ? { priority, weight, signal: deadline.signal, deadlineMs: ctx.startMs + p.timeouts.totalMs } : undefined;
    // Budget-aware fallback: past a soft limit, the alias's cheaper `overBudget` alias serves
    // instead (one hop, only one the key may use), admitted on its own limits and budget. Also
    // when this alias's worst case no longer fits a hard limit: that is when the swap matters most.
    let cheaper: RuntimeModel | undefined;
    const admitStartMs = trace.recording ? p.clock.nowMs() : 0;
    try {
      ticket = await p.admission.admit(principal, model, reserved, ceiling, wait);
      cheaper = ticket.overSoftLimit ? overBudgetAlias(p, model, principal) : undefined;
    } catch (err) {
      cheaper = err instanceof BudgetExceededError && err.overSoftLimit ? overBudgetAlias(p, model, principal) : undefined;
      if (!cheaper) throw err;
    }
    if (cheaper) {
      const cheaperReserve = { promptTokens, outputTokens: op.outputReserve(request, cheaper) };
      requireSomeTargetFits(cheaper, cheaperReserve, ceiling);
      // Give the first alias's hold back first: its concurrency slot must not count twice.
      ticket?.refund();
      ticket = await p.admission.admit(principal, cheaper, cheaperReserve, ceiling, wait && { ...wait, resume: true });
      headers['x-gateway-over-budget'] = `${model.alias} -> ${cheaper.alias}`;
      trace.event('gateway.over_budget', { 'gateway.from_model': model.alias, 'gateway.to_model': cheaper.alias });
      model = cheaper;
      record.model = model.alias;
      reserved = cheaperReserve;
    }
    // Set on every path that gets here: the first admission succeeded, or the cheaper one did.
    Object.assign(headers, ticket!.headers);
    if (trace.recording) trace.event('gateway.admitted', { 'gateway.model': model.alias, 'gateway.admission.duration_ms': p.clock.nowMs() - admitStartMs });

    const ceilingRefusal = (t: RuntimeTarget): GatewayError | undefined => {
      if (ceiling === undefined || !t.price) return undefined;
      const group = t.alias === model.alias ? model : p.router.find(t.alias);
      const tokens = { promptTokens, outputTokens: op.outputReserve(request, group) };
      return fitsCeiling(t, tokens, ceiling) ? undefined : ceilingError(group, tokens, ceiling);
    };
    // Prefix blocks are hashed only if the alias's strategy asks for them (prefix.ts).
    const route = new RouteRequest(reserved, request.stream, () => op.prefixBlocks?.(request) ?? [], slo);
    const countPrompt = op.countPromptTokens && once(() => op.countPromptTokens?.(request) ?? promptTokens);
    // The upstream call for a target is built once: the refusal check builds it, the attempt
    // (and a retry on the same target) sends it.
    let built: { target: RuntimeTarget; call: UpstreamCall } | undefined;
    const upstreamCall = (t: RuntimeTarget): UpstreamCall => (built?.target === t ? built.call : (built = { target: t, call: op.upstreamCall(t.deployment.adapter, request, t.targetInfo) }).call);
    // `signal`: the attempt's own (a hedged alias stops the slower of two attempts through it).
    const input = (target: RuntimeTarget, attempt: number, signal: AbortSignal): AttemptInput<Req> => ({
      target,
      attempt,
      requestId: ctx.requestId,
      operation: op.name,
      request,
      signal,
      tenant: principal.tenant,
      priority,
      weight,
      deadlineMs: ctx.startMs + p.timeouts.totalMs,
      responseContext: responseContext(p, request, target.alias, promptTokens, countPrompt),
      upstreamCall,
      record,
      trace: trace.startAttempt(target, attempt),
      route,
    });
    // The pipeline carries the clock and events an attempt needs: no per-request deps object.
    const deps: AttemptDeps = p;
    const run = {
      requestId: ctx.requestId,
      // Only fallbacks this key may use; each is admitted against its own limits when reached.
      plan: p.router.plan(model, principal),
      signal: deadline.signal,
      deadlineMs: ctx.startMs + p.timeouts.totalMs,
      route,
      // A target dearer than the ceiling is skipped like one that cannot express the request.
      refusal: (t: RuntimeTarget) => ceilingRefusal(t) ?? refusalOf(() => upstreamCall(t)),
      admitFallback: async (group: RuntimeModel) => {
        const t = await p.admission.admitFallback(principal, group, { promptTokens, outputTokens: op.outputReserve(request, group) }, ceiling);
        (fallbackTickets ??= []).push({ alias: group.alias, ticket: t });
      },
      trace,
      priority,
      tenant: principal.tenant,
    };

    if (!request.stream) {
      const done = await p.executor.run({ ...run, attempt: (t, n, signal) => jsonAttempt(deps, op, input(t, n, signal)) });
      served(record, headers, done.target, done.attempts, upstreamCall(done.target), done.value.upstreamModel);
      settleUsage(done.value.usage);
      record.payload?.response(done.value.body);
      Object.assign(headers, costHeaders(record));
      if (trace.recording) details = responseDetails(done.value.body);
      trace.event('gateway.commit');
      await reply.json(200, done.value.body, headers);
      record.succeed(200);
    } else {
      const done = await p.executor.run({ ...run, attempt: (t, n, signal) => streamAttempt(deps, op, input(t, n, signal)), discard: discardStream });
      served(record, headers, done.target, done.attempts, upstreamCall(done.target), done.value.translator.upstreamModel?.());
      trace.event('gateway.commit');
      await pumpStream(done.value, reply.openStream(headers), { record, settleUsage, finalUsage: op.finalUsage?.bind(op) }, deadline.signal, done.target.deployment.name);
    }
  } catch (err) {
    failBeforeCommit(err instanceof GatewayError && op.inClientTerms ? op.inClientTerms(err) : err, record, reply, headers, ctx.controller.signal);
  } finally {
    clearTimeout(deadlineTimer);
    p.budget.requestFinished();
    // Provider usage is checked and priced once, before limits, metrics and logs see it.
    settleUsage(record.usage);
    endTickets(record, ticket, fallbackTickets);
    if (record.internalCause !== undefined) p.events.internalError({ requestId: ctx.requestId, error: record.internalCause });
    const finished = record.toEvent();
    trace.end(finished, details);
    p.events.requestFinished(finished);
  }
}

/**
 * A hedged pair's loser that had committed too: its upstream body is cut and its attempt ends
 * as aborted (logged, never charged: only the winner's usage reaches the record).
 */
function discardStream(value: StreamValue<unknown>): void {
  value.cancel();
  value.end({ outcome: 'aborted' });
  void value.rest.return(undefined).catch(() => undefined);
}

/** `gen_ai.response.id` and `gen_ai.response.finish_reasons` of a JSON answer (OpenAI's or Anthropic's shape); read only when traced. */
function responseDetails(body: unknown): ResponseDetails | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { id?: unknown; choices?: unknown; stop_reason?: unknown };
  const finishReasons: string[] = [];
  if (Array.isArray(b.choices)) {
    for (const c of b.choices.slice(0, 16) as Array<{ finish_reason?: unknown }>) if (typeof c?.finish_reason === 'string') finishReasons.push(c.finish_reason);
  } else if (typeof b.stop_reason === 'string') finishReasons.push(b.stop_reason);
  return { finishReasons, ...(typeof b.id === 'string' ? { responseId: b.id } : {}) };
}

/**
 * Usage and cost are charged to the alias that served; every other alias the request was admitted
 * to gets back what admission took (its budget reservation included). When none served, the alias asked for keeps its charge (the prompt
 * estimate when there is no usage), as a failed request still counts against its limits.
 */
function endTickets(record: RequestRecord, first: Ticket | undefined, fallbacks: ReadonlyArray<{ alias: string; ticket: Ticket }> | undefined): void {
  const servedBy = record.servedModel;
  if (servedBy === undefined || servedBy === record.model) first?.settle(record.usage, record.costPico);
  else first?.refund();
  if (!fallbacks) return;
  for (const f of fallbacks) {
    if (f.alias === servedBy) f.ticket.settle(record.usage, record.costPico);
    else f.ticket.refund();
  }
}

/** The alias's `overBudget` alias, when it exists and the caller may use it. */
function overBudgetAlias(p: Pipeline, model: RuntimeModel, principal: Principal): RuntimeModel | undefined {
  if (model.overBudget === undefined || !principal.mayUse(model.overBudget)) return undefined;
  try {
    return p.router.find(model.overBudget);
  } catch {
    return undefined;
  }
}

/** The 400 an adapter throws for a parameter its provider cannot express; other throws are bugs and pass. */
function refusalOf(build: () => unknown): GatewayError | undefined {
  try {
    build();
    return undefined;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
}

/** Most chunks held behind a usage chunk waiting for the end of the stream (OpenAI sends none, the others one or two). */
const maxHeldChunks = 16;

/** What pumpStream needs to end a stream's accounting: the record, the usage settler and where the cost goes. */
interface StreamAccounting<Chunk> {
  readonly record: RequestRecord;
  readonly settleUsage: (usage: UsageRecord | undefined) => void;
  readonly finalUsage: ((chunk: Chunk) => Record<string, unknown> | undefined) | undefined;
}

/**
 * After the commit point: forward chunks until [DONE]; a failure becomes one in-band error event.
 * The final usage chunk (and whatever follows it) is held until the stream ends, so that its
 * usage is final when it is priced and the cost rides in it (a held chunk is one event early at
 * most: OpenAI's usage chunk comes right before [DONE], the others in the last step).
 */
async function pumpStream<Chunk>(value: StreamValue<Chunk>, writer: StreamWriter, accounting: StreamAccounting<Chunk>, signal: AbortSignal, deployment: string): Promise<void> {
  const { record, settleUsage, finalUsage } = accounting;
  record.succeed(200);
  let complete = false;
  let held: Chunk[] | undefined;
  // Per chunk: a write's promise, or nothing to wait for (no async wrapper, no closure per call).
  const forward = (chunks: readonly Chunk[]): Promise<void> | undefined => {
    if (chunks.length > 0) record.payload?.chunks(chunks);
    if (held) {
      held.push(...chunks);
      // A usage chunk with this much after it is not the final one (a broken or hostile
      // upstream): it goes out as it came, without a cost, and nothing more is held for it.
      return held.length > maxHeldChunks ? flushHeld() : undefined;
    }
    const at = finalUsage ? usageChunkAt(chunks, finalUsage) : -1;
    if (at < 0) return chunks.length > 0 ? writer.write(chunks) : undefined;
    return holdFrom(chunks, at);
  };
  const holdFrom = async (chunks: readonly Chunk[], at: number): Promise<void> => {
    if (at > 0) await writer.write(chunks.slice(0, at));
    held = chunks.slice(at);
  };
  /** Held chunks go out before an error event too, as they would have without the hold (no cost: usage is not final). */
  const flushHeld = async (): Promise<void> => {
    const chunks = held;
    held = undefined;
    if (chunks) await writer.write(chunks);
  };
  try {
    record.markFirstToken();
    const firstWrite = forward(value.first);
    if (firstWrite) await firstWrite;
    let done = value.done;
    while (!done) {
      const next = await value.rest.next();
      if (next.done) break;
      const step = next.value;
      const written = forward(step.chunks);
      if (written) await written;
      if (step.error) {
        value.end({ error: step.error });
        await flushHeld();
        writer.fail(new GatewayError('upstream_error', `Deployment '${deployment}' reported an error mid-stream: ${step.error.message}`));
        record.outcome = 'upstream_error';
        return;
      }
      done = step.done;
    }
    // Counted once (a provider that reports no usage is counted with the tokenizer).
    const usage = value.translator.usage();
    value.end(undefined, usage);
    settleUsage(usage);
    if (held) {
      const usage = finalUsage!(held[0]!);
      if (usage) addCost(usage, record);
    }
    await flushHeld();
    writer.done();
    complete = true;
  } catch (err) {
    if (err instanceof ClientGoneError) {
      // The client left, or stopped reading past the stall timeout (the writer says so before
      // the request signal may): the client's doing, not the upstream's.
      value.end({ outcome: 'aborted' });
      record.outcome = 'client_disconnect';
      return;
    }
    const f = classifyThrown(err, signal, deployment);
    value.end({ outcome: f.outcome });
    record.outcome = f.error.code === 'shutting_down' ? outcomeForError(f.error) : f.outcome === 'aborted' ? 'client_disconnect' : f.outcome === 'timeout' ? 'timeout' : f.outcome === 'internal' ? 'internal_error' : 'upstream_error';
    record.errorCode = f.error.code;
    if (f.outcome === 'internal') record.internalCause = err;
    await flushHeld().catch(() => undefined);
    writer.fail(f.error);
  } finally {
    // Any path not ended above (none expected) still ends the attempt's record, once.
    value.end({ outcome: 'aborted' });
    // A cut stream is charged by what the translator has (its estimate, marked estimated).
    if (!complete) settleUsage(value.translator.usage());
    // A complete stream reads the upstream body to its end in the background (translateBody), so
    // its connection is reused; the client already has everything. Otherwise the body is cut.
    if (complete) void readToEnd(value);
    else await value.rest.return(undefined).catch(() => undefined);
  }
}

/** Where the final usage chunk is among `chunks`, or -1. */
function usageChunkAt<Chunk>(chunks: readonly Chunk[], finalUsage: (chunk: Chunk) => Record<string, unknown> | undefined): number {
  for (let i = 0; i < chunks.length; i++) if (finalUsage(chunks[i] as Chunk) !== undefined) return i;
  return -1;
}

/**
 * Pulls a finished stream's generator until the upstream body ends, for at most
 * `drainAfterDone.maxMs` (translateBody bounds the bytes); then the body is destroyed. Failures
 * only cost the connection.
 */
async function readToEnd(value: StreamValue<unknown>): Promise<void> {
  const timer = setTimeout(value.cancel, drainAfterDone.maxMs);
  timer.unref();
  try {
    while (!(await value.rest.next()).done);
  } catch {
    // A reset, an idle timeout or our own cancel after the last event: undici drops the connection.
  } finally {
    clearTimeout(timer);
  }
}

/** The one recorded outcome of a request that failed before anything was sent (shared with the count flow). */
export function failBeforeCommit(err: unknown, record: RequestRecord, reply: ChatReply, headers: Record<string, string>, clientSignal: AbortSignal): void {
  const attemptOutcome = err instanceof ExecuteError ? err.outcome : undefined;
  const error = err instanceof ExecuteError ? err.error : toGatewayError(err);
  // A throw that is not a GatewayError is a bug in the flow itself: logged with its stack. An
  // abort reason is not (the reply's own write can fail with ClientGoneError when the client
  // stops reading its JSON answer).
  if (!(err instanceof ExecuteError) && !(err instanceof GatewayError) && !isAbortReason(err)) record.internalCause = err;
  if (err instanceof ExecuteError) {
    record.attempts = err.attempts;
    if (err.outcome === 'internal') record.internalCause = err.error.cause ?? err;
    // No header when nothing was sent upstream (a refusal, nothing available).
    if (err.attempts > 0) headers['x-gateway-attempts'] = String(err.attempts);
    // Which deployment gave the answer the client is getting: the last one tried.
    if (err.lastTarget) {
      headers['x-gateway-provider'] = err.lastTarget.deployment.name;
      headers['x-gateway-model'] = err.lastTarget.alias;
    }
  }
  if (clientSignal.reason instanceof ShuttingDownError) {
    // Aborted by the drain at its grace deadline: the client is still there and gets a 503.
    record.failWith(error, outcomeForError(error));
    reply.error(error, headers);
    return;
  }
  if (clientSignal.aborted && !(clientSignal.reason instanceof DeadlineExceededError)) {
    // Nobody is listening: record the disconnect, send nothing (F-20, F-21).
    record.failWith(error, 'client_disconnect');
    record.status = 499;
    return;
  }
  record.failWith(error, outcomeForError(error, attemptOutcome));
  reply.error(error, headers);
}

/**
 * Records and announces what served. The body's `model` stays the alias the client asked for
 * (clients compare it with what they sent); the model the upstream says answered (a dated
 * snapshot, Gemini's modelVersion), or else the configured one, is in x-gateway-upstream-model
 * and is `gen_ai.response.model`.
 */
function isAbortReason(err: unknown): boolean {
  return err instanceof ClientGoneError || err instanceof DeadlineExceededError || err instanceof ShuttingDownError;
}

function served(record: RequestRecord, headers: Record<string, string>, target: RuntimeTarget, attempts: number, call: UpstreamCall, reportedModel: string | undefined): void {
  const d = target.deployment;
  const responseModel = reportedModel ?? target.upstreamModel;
  record.servedModel = target.alias;
  record.deployment = d.name;
  record.price = target.price;
  record.attempts = attempts;
  record.upstream = { genAiProvider: d.genAiProvider, upstreamModel: target.upstreamModel, responseModel, serverAddress: d.serverAddress, serverPort: d.serverPort };
  headers['x-gateway-provider'] = d.name;
  headers['x-gateway-model'] = target.alias;
  headers['x-gateway-upstream-model'] = responseModel;
  headers['x-gateway-attempts'] = String(attempts);
  // Parameters the serving provider has no equivalent for (its policy in docs/providers.md):
  // names from OpenAI's closed parameter list, never client text.
  if (call.ignoredParams !== undefined) {
    record.ignoredParams = call.ignoredParams;
    headers['x-gateway-ignored-params'] = call.ignoredParams.join(', ');
  }
}

function responseContext(
  p: Pipeline,
  request: OperationRequest & { includeUsage?: boolean },
  alias: string,
  promptTokens: number,
  countPromptTokens: (() => number) | undefined,
): ResponseContext {
  return {
    id: p.newCompletionId(),
    created: Math.floor(p.clock.wallMs() / 1000),
    model: alias,
    includeUsage: request.includeUsage === true,
    promptTokensEstimate: promptTokens,
    ...(countPromptTokens ? { countPromptTokens } : {}),
  };
}

/** Runs `fn` on the first call only (a retry or fallback reuses the count). */
function once(fn: () => number): () => number {
  let value: number | undefined;
  return () => (value ??= fn());
}

/**
 * Aborts the request's controller when its overall deadline passes; the caller clears the timer
 * when the request ends. The controller and the limit ride as the timer's arguments: no closure
 * or wrapper object per request.
 */
export function armDeadline(controller: AbortController, totalMs: number): NodeJS.Timeout {
  const timer = setTimeout(abortAtDeadline, totalMs, controller, totalMs);
  timer.unref();
  return timer;
}

function abortAtDeadline(controller: AbortController, totalMs: number): void {
  controller.abort(new DeadlineExceededError(totalMs));
}
