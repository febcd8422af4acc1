import type { UsageRecord } from '../api/chat-types.js';
import type { Principal } from '../auth/principal.js';
import type { LimitsConfig } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { GatewayEvents } from '../observability/events.js';
import { MemoryConcurrencyLimiter, type ConcurrencyLimiter, type Lease } from '../ratelimit/concurrency.js';
import { LimitUnavailableError } from '../ratelimit/fallback-limiter.js';
import type { BucketSpec, BucketState, FailureMode, LimitCheck, LimitDecision, LimitKind, RateLimiter } from '../ratelimit/limiter.js';
import type { RuntimeModel } from '../routing/runtime-types.js';
import { systemClock, type Clock } from '../clock.js';
import type { Priority } from '../queue/priority.js';
import type { SlotQueue } from '../queue/slot-queue.js';
import { QueueWaitError } from '../queue/wait.js';
import { classifyThrown } from '../resilience/classify.js';
import type { BudgetHold, BudgetLedger } from '../spend/budget-ledger.js';
import { MemoryBudgetLedger } from '../spend/memory-budget-ledger.js';
import { BudgetGate, worstCaseOf } from './budget-admission.js';
import { formatResetDuration } from './rate-limit-headers.js';

/**
 * An admitted request's hold on its limits; `settle` reconciles the token reservation and gives
 * the concurrency slot back, once (the request flow calls it in its `finally`, so on every exit
 * path: success, error, client disconnect, stream cut mid-way).
 */
export interface Ticket {
  /** `x-ratelimit-*` headers describing the buckets after admission. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Charges actual usage against the token reservation (refunding or adding the difference),
   * and the actual cost against the budget reservation (`costPico`: null when an unpriced target
   * served, undefined when nothing did: both charge nothing).
   */
  settle(usage: UsageRecord | undefined, costPico: number | null | undefined): void;
  /**
   * Gives back everything admission took (the request, the token reservation, the slot): the
   * alias did not serve the request (another alias of its plan did, or this fallback was only
   * admitted). Settle or refund, once: whichever comes first wins.
   */
  refund(): void;
  /** The team has passed a soft budget limit (as of this admission): an alias's `overBudget` applies. */
  readonly overSoftLimit?: boolean;
}

export interface AdmissionOptions {
  /** Per-tenant in-flight slots; default in memory (one process). */
  readonly concurrency?: ConcurrencyLimiter;
  /** Failure mode of limits that set none (`state.failureMode`). */
  readonly failureMode?: FailureMode;
  /** Where budgets are counted (default: in this process), and how long a reservation may be held. */
  readonly budgets?: { readonly ledger: BudgetLedger; readonly holdMs: number };
  readonly clock?: Clock;
  /**
   * Waiting for a concurrency slot instead of a 429 (`queue.maxWaitMs` > 0): the waiters of
   * this process, and the longest wait. Unset: refuse at once, as without a queue.
   */
  readonly queue?: { readonly slots: SlotQueue; readonly maxWaitMs: number };
}

/** How an admission may wait for a slot: its place in line and what ends the wait. */
export interface AdmissionWait {
  readonly priority: Priority;
  /** The tenant's weight within its class. */
  readonly weight: number;
  /** The request's signal (client gone, deadline, drain). */
  readonly signal: AbortSignal;
  /** Monotonic ms of the request's deadline: no wait goes past it. */
  readonly deadlineMs: number;
  /**
   * It held a slot of this tenant until just now (refunded to be admitted on another alias, the
   * over-budget swap): it takes a free slot at once rather than queue behind the tenant's waiters.
   */
  readonly resume?: boolean;
}

/** Reservations live this long when the caller gives no hold time: past any request's deadline. */
const DEFAULT_HOLD_MS = 15 * 60_000;

const noLimits: Ticket = { headers: {}, settle: () => undefined, refund: () => undefined };

/**
 * Admission control: the tenant's request and token buckets for this model, checked together,
 * then the worst-case cost against every budget of the team and key (budget-admission.ts).
 * Tokens are reserved up front (prompt estimate + n × max output) and reconciled with real
 * usage when the request ends, so a limit is never spent by requests it has not yet counted.
 */
export class Admission {
  readonly #concurrency: ConcurrencyLimiter;
  readonly #failureMode: FailureMode;
  readonly #budgets: BudgetGate;
  readonly #queue: AdmissionOptions['queue'];
  readonly #clock: Clock;

  constructor(
    private readonly limiter: RateLimiter,
    private readonly events: GatewayEvents,
    options: AdmissionOptions = {},
  ) {
    this.#concurrency = options.concurrency ?? new MemoryConcurrencyLimiter();
    this.#failureMode = options.failureMode ?? 'open';
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    this.#queue = options.queue;
    this.#budgets = new BudgetGate(
      { ledger: options.budgets?.ledger ?? new MemoryBudgetLedger(clock), holdMs: options.budgets?.holdMs ?? DEFAULT_HOLD_MS, failureMode: this.#failureMode, clock },
      events,
    );
  }

  /**
   * Admits or throws rate_limit_exceeded (429 with Retry-After) / invalid_request (400, can never
   * fit) / budget_exceeded (429) / budget_unavailable (503). `outputTokens` is what to reserve for
   * the answer (n × max output, or the model default); `ceilingPico` the request's cost ceiling
   * (targets above it reserve nothing: they are never tried). With a queue and `wait`, a request
   * that finds no free concurrency slot waits for one (docs/queueing.md) and is refused (429,
   * Retry-After from the slots' turnover) only when its wait ends.
   */
  async admit(principal: Principal, model: RuntimeModel, tokens: { promptTokens: number; outputTokens: number }, ceilingPico?: bigint, wait?: AdmissionWait): Promise<Ticket> {
    const hasBuckets = hasAny(principal.limitsFor(model.alias)) || hasAny(principal.keyLimits?.limits);
    if (!hasBuckets && !principal.concurrency && !principal.budgets) return noLimits;
    // The slot first: a request refused by its buckets must not have held one, and one refused
    // for lack of a slot must not have spent tokens.
    const lease = await this.#acquireSlot(principal, model, wait);
    try {
      return await this.#limitsAndBudget(principal, model, tokens, hasBuckets, lease, ceilingPico);
    } catch (err) {
      lease?.release();
      throw err;
    }
  }

  /**
   * Admits a request that generates nothing (token counting): it holds a concurrency slot while it
   * runs and counts against the request limits, but reserves no tokens (the token buckets are
   * neither checked nor charged) and is not checked against budgets: it costs nothing, so a team
   * over its budget may still count. Throws like `admit` (429 with Retry-After, 503 fail-closed).
   */
  async admitRequestOnly(principal: Principal, model: RuntimeModel, wait?: AdmissionWait): Promise<Ticket> {
    const hasRequestBuckets = principal.limitsFor(model.alias)?.requests !== undefined || principal.keyLimits?.limits?.requests !== undefined;
    if (!hasRequestBuckets && !principal.concurrency) return noLimits;
    const lease = await this.#acquireSlot(principal, model, wait);
    let ticket: Ticket;
    try {
      ticket = hasRequestBuckets ? await this.#consume(principal, model, { promptTokens: 0, outputTokens: 0 }, false) : noLimits;
    } catch (err) {
      lease?.release();
      throw err;
    }
    if (!lease) return ticket;
    const end = onceEnd((usage, costPico, refund) => {
      lease.release();
      if (refund) ticket.refund();
      else ticket.settle(usage, costPico);
    });
    return { headers: ticket.headers, settle: (usage, costPico) => end(usage, costPico, false), refund: () => end(undefined, undefined, true) };
  }

  /** Whether a request may wait for a concurrency slot (`queue.maxWaitMs` > 0): only then does `admit` read its `wait`. */
  get queueing(): boolean {
    return this.#queue !== undefined;
  }

  /**
   * Admits a request that falls back to `model` against that alias's own buckets and its own
   * worst-case cost (the tenant's concurrency slot is held once, by the first alias's ticket).
   * Throws like `admit`.
   */
  async admitFallback(principal: Principal, model: RuntimeModel, tokens: { promptTokens: number; outputTokens: number }, ceilingPico?: bigint): Promise<Ticket> {
    const hasBuckets = hasAny(principal.limitsFor(model.alias)) || hasAny(principal.keyLimits?.limits);
    if (!hasBuckets && !principal.budgets) return noLimits;
    return this.#limitsAndBudget(principal, model, tokens, hasBuckets, undefined, ceilingPico);
  }

  /** Token buckets, then the budget reservation (a refused budget gives the buckets back), as one ticket. */
  async #limitsAndBudget(
    principal: Principal,
    model: RuntimeModel,
    tokens: { promptTokens: number; outputTokens: number },
    hasBuckets: boolean,
    lease: Lease | undefined,
    ceilingPico: bigint | undefined,
  ): Promise<Ticket> {
    const ticket = hasBuckets ? await this.#consume(principal, model, tokens) : noLimits;
    let hold: BudgetHold | undefined;
    let overSoftLimit = false;
    // Without budgets no worst case is priced and nothing more is awaited: a request of an
    // unbudgeted team pays nothing for the feature.
    if (principal.budgets !== undefined && principal.budgets.length > 0) {
      try {
        // Targets above the cost ceiling are never tried, so they reserve nothing.
        ({ hold, overSoftLimit } = await this.#budgets.reserve(principal, model, worstCaseOf(model, tokens, ceilingPico)));
      } catch (err) {
        ticket.refund();
        throw err;
      }
    }
    if (!lease && !hold) return ticket;
    const end = onceEnd((usage, costPico, refund) => {
      lease?.release();
      if (refund) ticket.refund();
      else ticket.settle(usage, costPico);
      // Unpriced (null) and unserved (undefined) charge nothing; a refund gives the whole hold back.
      this.#budgets.settle(principal, hold, refund ? 0 : (costPico ?? 0));
    });
    return { headers: ticket.headers, settle: (usage, costPico) => end(usage, costPico, false), refund: () => end(undefined, undefined, true), overSoftLimit };
  }

  async #acquireSlot(principal: Principal, model: RuntimeModel, wait: AdmissionWait | undefined): Promise<Lease | undefined> {
    const limit = principal.concurrency;
    if (!limit) return undefined;
    const at = { tenant: principal.tenant, model: model.alias, kind: 'concurrency' } as const;
    const mode = limit.failureMode ?? this.#failureMode;
    const queue = wait ? this.#queue : undefined;
    let acquired;
    // Behind waiters of its own tenant a request joins the line rather than take a slot first.
    if (!queue || wait?.resume === true || queue.slots.waiting(principal.tenant) === 0) {
      try {
        acquired = await this.#concurrency.acquire(principal.tenant, limit.maxInFlight, mode);
      } catch (err) {
        throw this.#unavailable(err, at);
      }
      if (acquired.degraded) this.events.rateLimitDegraded({ ...at, mode: 'open' });
      if (acquired.lease) {
        this.events.rateLimitDecision({ ...at, allowed: true });
        return queue ? queue.slots.watch(principal.tenant, acquired.lease) : acquired.lease;
      }
    }
    if (queue && wait) return this.#waitForSlot(principal, limit.maxInFlight, mode, queue, wait, at);
    this.events.rateLimitDecision({ ...at, allowed: false });
    throw new GatewayError('concurrency_limit_exceeded', `Too many requests in flight for this key (limit ${limit.maxInFlight}). Retry when one of them has finished.`, {
      retryAfterMs: 1000,
      type: 'rate_limit_error',
    });
  }

  /** Waits in this process's line for a slot, up to `queue.maxWaitMs` and the deadline; refused: 429 with a Retry-After from the slots' turnover. */
  async #waitForSlot(
    principal: Principal,
    max: number,
    mode: FailureMode,
    queue: NonNullable<AdmissionOptions['queue']>,
    wait: AdmissionWait,
    at: { tenant: string; model: string; kind: 'concurrency' },
  ): Promise<Lease> {
    const maxWaitMs = Math.min(queue.maxWaitMs, wait.deadlineMs - this.#clock.nowMs());
    try {
      const lease = await queue.slots.wait(principal.tenant, max, mode, { tenant: principal.tenant, priority: wait.priority, weight: wait.weight, signal: wait.signal, maxWaitMs });
      this.events.rateLimitDecision({ ...at, allowed: true });
      return lease;
    } catch (err) {
      this.events.rateLimitDecision({ ...at, allowed: false });
      if (err instanceof QueueWaitError) {
        const why = err.outcome === 'full' ? 'and too many of its requests are already waiting' : `and none finished within ${Math.max(0, Math.round(maxWaitMs))} ms`;
        throw new GatewayError('concurrency_limit_exceeded', `Too many requests in flight for this key (limit ${max}), ${why}. Retry after the time given in Retry-After.`, {
          retryAfterMs: queue.slots.retryAfterMs(principal.tenant, max),
          type: 'rate_limit_error',
        });
      }
      // The wait was ended by the request's signal: the deadline (504), the drain (503) or a client that left.
      if (wait.signal.aborted) throw classifyThrown(err, wait.signal, '').error;
      // Its wait ran out while the shared slots could not be asked (fail-closed): 503, as at once.
      throw this.#unavailable(err, at);
    }
  }

  /** `withTokens` false: only the request buckets are checked (a request that reserves no tokens). */
  async #consume(principal: Principal, model: RuntimeModel, tokens: { promptTokens: number; outputTokens: number }, withTokens = true): Promise<Ticket> {
    const { promptTokens } = tokens;
    const checks: LimitCheck[] = [];
    const reserved = promptTokens + tokens.outputTokens;
    const add = (base: string, limits: LimitsConfig | undefined): void => {
      if (limits?.requests) checks.push({ key: `${base}|requests`, kind: 'requests', bucket: limits.requests, cost: 1, failureMode: limits.requests.failureMode ?? this.#failureMode });
      if (limits?.tokens && withTokens) checks.push({ key: `${base}|tokens`, kind: 'tokens', bucket: limits.tokens, cost: reserved, failureMode: limits.tokens.failureMode ?? this.#failureMode });
    };
    add(`${principal.tenant}|${model.alias}`, principal.limitsFor(model.alias));
    // A key's own limits are checked in the same all-or-nothing call as its team's.
    if (principal.keyLimits) add(`${principal.keyLimits.scope}|${model.alias}`, principal.keyLimits.limits);
    let decision: LimitDecision;
    try {
      decision = await this.limiter.consume(checks);
    } catch (err) {
      throw this.#unavailable(err, { tenant: principal.tenant, model: model.alias, kind: err instanceof LimitUnavailableError ? err.kind : 'requests' });
    }
    for (const c of checks) {
      const allowed = decision.allowed || decision.rejectedBy !== c.kind;
      if (decision.degraded) this.events.rateLimitDegraded({ tenant: principal.tenant, model: model.alias, kind: c.kind, mode: 'open' });
      this.events.rateLimitDecision({ tenant: principal.tenant, model: model.alias, kind: c.kind, allowed });
    }
    const headers = rateLimitHeaders(decision.states);
    if (!decision.allowed) {
      if (decision.impossible) {
        throw new GatewayError('invalid_request', `This request reserves ${reserved} tokens (prompt estimate plus max output), more than your token limit for '${model.alias}' can ever hold. Lower max_tokens or shorten the prompt.`, { param: 'max_tokens', headers });
      }
      throw new GatewayError('rate_limit_exceeded', `Rate limit reached for '${model.alias}' (${decision.rejectedBy ?? 'requests'}). Retry after the time given in Retry-After.`, {
        retryAfterMs: decision.retryAfterMs,
        headers,
        type: 'rate_limit_error',
      });
    }
    const end = once((usage: UsageRecord | undefined, refund: boolean) => {
      for (const c of checks) {
        if (refund) this.#adjust(c.key, c.bucket, -c.cost);
        else if (c.kind === 'tokens') this.#reconcile(c.key, c.bucket, reserved, promptTokens, usage);
      }
    });
    return { headers, settle: (usage) => end(usage, false), refund: () => end(undefined, true) };
  }

  #adjust(key: string, bucket: BucketSpec, delta: number): void {
    void this.limiter.adjust(key, bucket, delta).catch(() => undefined);
  }

  /** A fail-closed limit could not be checked: 503 rate_limit_unavailable. Other errors pass. */
  #unavailable(err: unknown, at: { tenant: string; model: string; kind: 'requests' | 'tokens' | 'concurrency' }): unknown {
    if (!(err instanceof LimitUnavailableError)) return err;
    this.events.rateLimitDegraded({ ...at, kind: err.kind, mode: 'closed' });
    return new GatewayError('rate_limit_unavailable', `The ${err.kind} limit for '${at.model}' cannot be checked right now, and this limit refuses requests rather than admit them unchecked. Retry after the time given in Retry-After.`, {
      retryAfterMs: Math.max(1000, err.retryAfterMs),
    });
  }

  #reconcile(key: string, bucket: BucketSpec, reserved: number, promptTokens: number, usage: UsageRecord | undefined): void {
    // Without any usage we still charge the prompt estimate: never silently zero.
    const actual = usage ? usage.promptTokens + usage.completionTokens : promptTokens;
    if (actual !== reserved) this.#adjust(key, bucket, actual - reserved);
  }
}

/** The header names per kind, made once: names built per request were hashed again on every use. */
const rateLimitNames: Readonly<Record<LimitKind, { limit: string; remaining: string; reset: string }>> = {
  requests: { limit: 'x-ratelimit-limit-requests', remaining: 'x-ratelimit-remaining-requests', reset: 'x-ratelimit-reset-requests' },
  tokens: { limit: 'x-ratelimit-limit-tokens', remaining: 'x-ratelimit-remaining-tokens', reset: 'x-ratelimit-reset-tokens' },
};

function rateLimitHeaders(states: readonly BucketState[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (const s of states) {
    const names = rateLimitNames[s.kind];
    // A key's own bucket and its team's share a kind: the headers describe the tighter one.
    const shown = h[names.remaining];
    if (shown !== undefined && Number(shown) <= s.remaining) continue;
    h[names.limit] = String(Math.floor(s.limit));
    h[names.remaining] = String(s.remaining);
    h[names.reset] = formatResetDuration(s.resetMs);
  }
  return h;
}

function once(fn: (usage: UsageRecord | undefined, refund: boolean) => void): (usage: UsageRecord | undefined, refund: boolean) => void {
  let called = false;
  return (usage, refund) => {
    if (called) return;
    called = true;
    fn(usage, refund);
  };
}

function onceEnd(fn: (usage: UsageRecord | undefined, costPico: number | null | undefined, refund: boolean) => void): typeof fn {
  let called = false;
  return (usage, costPico, refund) => {
    if (called) return;
    called = true;
    fn(usage, costPico, refund);
  };
}

function hasAny(limits: LimitsConfig | undefined): boolean {
  return limits !== undefined && (limits.requests !== undefined || limits.tokens !== undefined);
}
