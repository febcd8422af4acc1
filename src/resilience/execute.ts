import { sleep, type Clock } from '../clock.js';
import type { HedgeConfig, RetryConfig } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { AttemptOutcome, GatewayEvents } from '../observability/events.js';
import type { RequestTrace } from '../observability/tracer.js';
import { MemoryCooldowns, type Cooldowns } from '../routing/cooldowns.js';
import type { RouteRequest } from '../routing/route-request.js';
import type { RoutePlan, RuntimeDeployment, RuntimeModel, RuntimeTarget } from '../routing/runtime-types.js';
import type { Priority } from '../queue/priority.js';
import { DeadlineExceededError } from './abort-reasons.js';
import { backoffDelayMs } from './backoff.js';
import type { BreakerPermit } from './breaker.js';
import { classifyThrown, internalFailure, type AttemptFailure } from './classify.js';
import { RacingAttempt } from './hedge-attempt.js';
import { HedgeBudget } from './hedge-budget.js';
import type { RetryBudget } from './retry-budget.js';

export type AttemptResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: AttemptFailure };

export interface ExecuteInput<T> {
  readonly requestId: string;
  readonly plan: RoutePlan;
  /** Aborted when the client goes away or the deadline passes. */
  readonly signal: AbortSignal;
  /** Monotonic instant by which the whole request must be done. */
  readonly deadlineMs: number;
  /**
   * Runs one attempt against a target; must not throw for upstream failures (return them).
   * `signal` is the attempt's own: the request's signal, or in a hedged alias one linked to it
   * that also aborts when the other attempt of a hedged pair answers first.
   */
  readonly attempt: (target: RuntimeTarget, attemptNumber: number, signal: AbortSignal) => Promise<AttemptResult<T>>;
  /**
   * Disposes of a value no one will use: a hedged pair's loser that had already answered when
   * the winner did (a committed stream must be cut). Nothing is needed for plain data.
   */
  readonly discard?: (value: T) => void;
  /**
   * Why `target` cannot serve this request (its provider cannot express a parameter), checked
   * before it is attempted. A refused target is skipped: that is not an attempt, takes no retry
   * budget and tells its breaker nothing.
   */
  readonly refusal?: (target: RuntimeTarget) => GatewayError | undefined;
  /**
   * Admits the request on a fallback alias just before its first attempt there (the caller
   * admitted the first alias). A GatewayError thrown (its limit refused) skips the alias.
   */
  readonly admitFallback?: (group: RuntimeModel) => Promise<void>;
  /** What the balancers may know of the request: its size (`cost`), prefix, SLO (route-request.ts). */
  readonly route?: RouteRequest;
  /** The request's trace: retries, fallbacks, breaker skips and cooldown waits become span events. */
  readonly trace?: RequestTrace;
  /** The request's priority class and tenant (a cooldown wait is reported under them). */
  readonly priority?: Priority;
  readonly tenant?: string;
}

export interface Executed<T> {
  readonly value: T;
  readonly target: RuntimeTarget;
  readonly attempts: number;
}

/** Every attempt failed, or none could be made; `error` is what the client gets. */
export class ExecuteError extends Error {
  constructor(
    readonly error: GatewayError,
    readonly attempts: number,
    readonly outcome: AttemptOutcome | 'no_target',
    /** The target of the last attempt made, if any (named in the `x-gateway-*` headers). */
    readonly lastTarget?: RuntimeTarget,
  ) {
    super(error.message);
    this.name = 'ExecuteError';
  }
}

export interface ExecutorDeps {
  readonly clock: Clock;
  readonly retry: RetryConfig;
  readonly budget: RetryBudget;
  readonly events: GatewayEvents;
  readonly random?: () => number;
  /** Provider-429 cooldowns (shared across replicas with Redis); default in memory. */
  readonly cooldowns?: Cooldowns;
  /** `queue.maxWaitMs`: a request may wait this long for a cooldown to end, when longer than `retry.maxRetryAfterMs`. */
  readonly queueMaxWaitMs?: number;
  /**
   * With the queue on: requests waiting for cooldowns at once, per tenant and in all (`queue.maxPerTenant`,
   * `queue.maxTotal`); one more is refused without waiting. Unset: no bound (the queue off, as before it).
   */
  readonly queueBounds?: { readonly maxPerTenant: number; readonly maxTotal: number };
}

/** What one request has done with one alias's targets so far. */
interface GroupState {
  readonly group: RuntimeModel;
  /** Targets attempted; a retry prefers the others. */
  readonly tried: Set<RuntimeTarget>;
  /** Targets whose provider cannot serve this request at all; never picked again. */
  readonly refused: Set<RuntimeTarget>;
  readonly route: RouteRequest | undefined;
}

interface Picked {
  readonly target: RuntimeTarget;
  readonly permit: BreakerPermit;
}

/** A failed attempt, to be settled (breaker, cooldown) and remembered as the request's last. */
interface Failed {
  readonly picked: Picked;
  readonly failure: AttemptFailure;
}

/** What an attempt in a hedged alias came to, with its hedge if one started. */
interface Raced<T> {
  readonly won?: { readonly picked: Picked; readonly value: T };
  /** Attempts that failed of themselves (a loser stopped for the winner is not one), in the order they ended. */
  readonly failures: readonly Failed[];
  /** Attempts made: 1, or 2 when a hedge started. */
  readonly made: 1 | 2;
}

/**
 * Runs a route plan: the alias's targets first (each retry prefers a deployment not yet tried),
 * then each fallback alias. Bounded three ways: attempts per alias, one deadline that includes
 * backoff, and the shared retry budget, which is spent only by another try on a deployment that
 * already failed this request (moving on to one that has not is never starved by it). Open
 * breakers, 429 cooldowns and targets that cannot express the request are skipped.
 */
export class Executor {
  readonly #d: ExecutorDeps;
  readonly #cooldowns: Cooldowns;
  /** Requests waiting for a cooldown now, in all and per tenant (only counted with `queueBounds`). */
  #cooling = 0;
  readonly #coolingBy = new Map<string, number>();
  /** Each hedged alias's hedge budget; keyed by the compiled alias, so a reload starts afresh. */
  readonly #hedgeBudgets = new WeakMap<RuntimeModel, HedgeBudget>();

  constructor(deps: ExecutorDeps) {
    this.#d = deps;
    this.#cooldowns = deps.cooldowns ?? new MemoryCooldowns(deps.clock);
  }

  async run<T>(input: ExecuteInput<T>): Promise<Executed<T>> {
    let attempts = 0;
    let last: { failure: AttemptFailure; target: RuntimeTarget } | undefined;
    // A fallback alias whose limits refused the request, when nothing was attempted after it:
    // the client then learns when that limit lets it through (429 with Retry-After).
    let limited: GatewayError | undefined;
    // The last target that refused the request (a parameter its provider cannot express).
    let refusal: { error: GatewayError; target: RuntimeTarget } | undefined;
    // Deployments that failed an attempt of this request: only another try on one of them is a
    // retry that needs a budget slot. Allocated on the first failure.
    let failed: RuntimeDeployment[] | undefined;
    // The target of the attempt under way or last made: an abort can interrupt an attempt
    // before it becomes `last`.
    let current: RuntimeTarget | undefined;
    // At most one hedge per request, whichever alias it is in.
    let hedged = false;
    const settle = ({ picked, failure }: Failed, state: GroupState): void => {
      last = { failure, target: picked.target };
      limited = undefined;
      (failed ??= []).push(picked.target.deployment);
      if (failure.excludeTarget) state.refused.add(picked.target);
      const breakerBefore = picked.target.deployment.breaker.state;
      this.#settleFailure(picked, failure);
      if (input.trace?.recording && picked.target.deployment.breaker.state !== breakerBefore) {
        input.trace.event('gateway.breaker_transition', { 'gateway.deployment': picked.target.deployment.name, 'gateway.breaker.from': breakerBefore, 'gateway.breaker.to': picked.target.deployment.breaker.state });
      }
    };
    try {
      for (const [gi, group] of input.plan.groups.entries()) {
        const state: GroupState = { group, tried: new Set(), refused: new Set(), route: input.route };
        if (group.hedge !== undefined) this.#hedgeBudget(group).requestStarted(this.#d.clock.nowMs());
        let admitted = gi === 0;
        let n = 0;
        while (n < this.#d.retry.maxAttempts) {
          let picked = await this.#pickOrWait(state, input);
          if (!picked) break;
          const refused = skipIfRefused(picked, state, input);
          if (refused) {
            refusal = refused;
            continue;
          }
          if (!admitted) {
            try {
              await input.admitFallback?.(group);
            } catch (err) {
              picked.permit.release();
              if (!(err instanceof GatewayError)) throw err;
              limited = err;
              break;
            }
            admitted = true;
            this.#d.events.fallback({ requestId: input.requestId, from: current?.alias ?? input.plan.groups[0]?.alias ?? '', to: group.alias });
            if (input.trace?.recording) input.trace.event('gateway.fallback', { 'gateway.from_model': current?.alias ?? input.plan.groups[0]?.alias ?? '', 'gateway.to_model': group.alias });
          }
          const budgeted = failed?.includes(picked.target.deployment) === true;
          if (attempts > 0) {
            const next = await this.#prepareRetry(picked, state, last, n, input, budgeted);
            // Nothing of this alias is left (the budget is spent for another try on a deployment
            // that already failed, or its breaker opened during the backoff): the fallback
            // aliases still get their turn.
            if (next === 'alias-exhausted') break;
            if (!next) throw new ExecuteError(last ? finalError(last.failure, input.plan, this.#d.clock, this.#cooldowns) : noTarget(input.plan, this.#d.clock, this.#cooldowns), attempts, last?.failure.outcome ?? 'no_target', last?.target);
            // The backoff re-picks: a different target gets its own refusal check.
            const refusedNext = next.target === picked.target ? undefined : skipIfRefused(next, state, input);
            if (refusedNext) {
              refusal = refusedNext;
              if (budgeted) this.#d.budget.retryFinished();
              continue;
            }
            picked = next;
          }
          attempts++;
          n++;
          state.tried.add(picked.target);
          current = picked.target;
          if (group.hedge !== undefined && !hedged) {
            let raced: Raced<T>;
            try {
              raced = await this.#race(picked, state, input, attempts, group.hedge);
            } finally {
              if (budgeted) this.#d.budget.retryFinished();
            }
            if (raced.made === 2) {
              hedged = true;
              attempts++;
              n++;
            }
            for (const f of raced.failures) settle(f, state);
            if (raced.won) {
              raced.won.picked.permit.success();
              return { value: raced.won.value, target: raced.won.picked.target, attempts };
            }
            const lastFailure = raced.failures.at(-1)!;
            if (!lastFailure.failure.retryable) throw new ExecuteError(lastFailure.failure.error, attempts, lastFailure.failure.outcome, lastFailure.picked.target);
            continue;
          }
          let result: AttemptResult<T>;
          try {
            result = await input.attempt(picked.target, attempts, input.signal);
          } catch (err) {
            // Attempts report upstream failures as results; a throw is a bug, but it must not
            // leave a half-open probe slot taken until its timeout.
            picked.permit.release();
            throw err;
          } finally {
            if (budgeted) this.#d.budget.retryFinished();
          }
          if (result.ok) {
            picked.permit.success();
            return { value: result.value, target: picked.target, attempts };
          }
          settle({ picked, failure: result.failure }, state);
          if (!result.failure.retryable) throw new ExecuteError(result.failure.error, attempts, result.failure.outcome, picked.target);
        }
        if (refusal && state.refused.size === group.targets.length && !group.fallbackOnUnsupportedParameter) {
          // No target of this alias can express the request: the client asked for this model,
          // so it learns which parameter is the problem instead of being moved to another one.
          throw new ExecuteError(last ? finalError(last.failure, input.plan, this.#d.clock, this.#cooldowns) : refusal.error, attempts, last?.failure.outcome ?? 'client_error', last?.target ?? refusal.target);
        }
      }
    } catch (err) {
      if (err instanceof ExecuteError) throw err;
      // A strategy refused the request (predicted_latency shedding an SLO it cannot meet).
      if (err instanceof GatewayError && !input.signal.aborted) throw new ExecuteError(err, attempts, 'no_target', current);
      // Aborts (client gone, deadline) interrupt waits and sleeps; anything else thrown here is
      // a bug (attempts return upstream failures), answered 500 and logged by the caller.
      const f = input.signal.aborted ? classifyThrown(err, input.signal, last?.target.deployment.name ?? '') : internalFailure(err);
      throw new ExecuteError(f.error, attempts, f.outcome, current);
    }
    if (limited) throw new ExecuteError(limited, attempts, 'rate_limited', last?.target);
    if (last) throw new ExecuteError(finalError(last.failure, input.plan, this.#d.clock, this.#cooldowns), attempts, last.failure.outcome, last.target);
    if (refusal) throw new ExecuteError(refusal.error, 0, 'client_error', refusal.target);
    throw new ExecuteError(noTarget(input.plan, this.#d.clock, this.#cooldowns), 0, 'no_target');
  }

  /** Picks a target; if every target is only cooling down and the wait fits, waits for the first. */
  async #pickOrWait<T>(state: GroupState, input: ExecuteInput<T>): Promise<Picked | undefined> {
    input.signal.throwIfAborted();
    if (input.trace?.recording) breakerSkips(state.group, input.trace);
    const picked = this.#pick(state);
    if (picked) return picked;
    const now = this.#d.clock.nowMs();
    let earliest = Infinity;
    for (const t of state.group.targets) {
      if (!state.refused.has(t) && t.deployment.breaker.state !== 'open' && this.#cooldowns.untilMs(t.deployment.name) > now) earliest = Math.min(earliest, this.#cooldowns.untilMs(t.deployment.name));
    }
    const waitMs = earliest - now;
    if (!Number.isFinite(waitMs)) return undefined;
    if (waitMs > Math.max(this.#d.retry.maxRetryAfterMs, this.#d.queueMaxWaitMs ?? 0) || now + waitMs >= input.deadlineMs) {
      // Cooling down for longer than this request may wait: refused without waiting.
      this.#d.events.queueLeft({ reason: 'cooldown', tenant: input.tenant ?? '', priority: input.priority ?? 'normal', outcome: 'timeout', waitMs: 0, entered: false });
      return undefined;
    }
    const bounds = this.#d.queueBounds;
    if (bounds && (this.#cooling >= bounds.maxTotal || (this.#coolingBy.get(input.tenant ?? '') ?? 0) >= bounds.maxPerTenant)) {
      // As many wait for cooldowns as the queue may hold: refused without waiting, as from a full queue.
      this.#d.events.queueLeft({ reason: 'cooldown', tenant: input.tenant ?? '', priority: input.priority ?? 'normal', outcome: 'full', waitMs: 0, entered: false });
      return undefined;
    }
    input.trace?.event('gateway.cooldown_wait', { 'gateway.wait_ms': waitMs });
    await this.#waitCooldown(waitMs, input);
    // Timers run on libuv's cached loop time and can fire a little before nowMs() reaches the
    // target; judge availability as of the instant we waited for, or the re-pick still sees the
    // deployment cooling and the request fails with the 429 it just waited out (F-03).
    return this.#pick(state, Math.max(this.#d.clock.nowMs(), earliest));
  }

  /** Sleeps out a cooldown, reported as a queue wait (`cooldown`), ending at once on abort. */
  async #waitCooldown<T>(waitMs: number, input: ExecuteInput<T>): Promise<void> {
    const priority = input.priority ?? 'normal';
    const events = this.#d.events;
    events.queueEntered({ reason: 'cooldown', priority });
    const startMs = this.#d.clock.nowMs();
    const tenant = input.tenant ?? '';
    const counted = this.#d.queueBounds !== undefined;
    if (counted) {
      this.#cooling++;
      this.#coolingBy.set(tenant, (this.#coolingBy.get(tenant) ?? 0) + 1);
    }
    try {
      await sleep(waitMs, input.signal);
    } catch (err) {
      events.queueLeft({ reason: 'cooldown', tenant, priority, outcome: input.signal.reason instanceof DeadlineExceededError ? 'timeout' : 'client_gone', waitMs: this.#d.clock.nowMs() - startMs, entered: true });
      throw err;
    } finally {
      if (counted) {
        this.#cooling--;
        const left = (this.#coolingBy.get(tenant) ?? 1) - 1;
        if (left > 0) this.#coolingBy.set(tenant, left);
        else this.#coolingBy.delete(tenant);
      }
    }
    events.queueLeft({ reason: 'cooldown', tenant: input.tenant ?? '', priority, outcome: 'admitted', waitMs: this.#d.clock.nowMs() - startMs, entered: true });
  }

  /** Picks an available target, preferring untried ones; with `untriedOnly` (a hedge) only those. */
  #pick({ group, tried, refused, route }: GroupState, now = this.#d.clock.nowMs(), untriedOnly = false): Picked | undefined {
    const available = group.targets.filter((t) => !refused.has(t) && this.#cooldowns.untilMs(t.deployment.name) <= now && t.deployment.breaker.state !== 'open');
    const untried = available.filter((t) => !tried.has(t));
    let candidates = untried.length > 0 || untriedOnly ? untried : available;
    while (candidates.length > 0) {
      const target = group.balancer.pick(candidates, route);
      if (!target) return undefined;
      const permit = target.deployment.breaker.tryAcquire();
      if (permit) return { target, permit };
      // Half-open with its probe slots taken: route elsewhere rather than wait.
      candidates = candidates.filter((c) => c !== target);
    }
    return undefined;
  }

  /**
   * One attempt in a hedged alias: if it has not answered (a stream's commit point, a JSON
   * answer) within the threshold, the same request starts on another untried deployment when
   * the hedge budget allows. The first to answer wins; the other is stopped through its own
   * signal and its permit released (it says nothing of its deployment's health). A failure of
   * one waits for the other; both failing goes back to the retry loop.
   */
  async #race<T>(first: Picked, state: GroupState, input: ExecuteInput<T>, attemptNumber: number, hedge: HedgeConfig): Promise<Raced<T>> {
    const a = new RacingAttempt(first, input.signal, (signal) => input.attempt(first.target, attemptNumber, signal));
    // With `p95` and no samples yet there is nothing to judge slowness by: no hedge.
    const afterMs = hedge.afterMs === 'p95' ? first.target.stats.ttftP95() : hedge.afterMs;
    if (afterMs === undefined) return alone(await a.settled);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const due = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, afterMs, undefined);
    });
    const early = await Promise.race([a.settled, due]);
    clearTimeout(timer);
    // The request already ended (its abort is on its way to the attempt): nothing to hedge.
    if (early !== undefined || input.signal.aborted) return alone(early ?? (await a.settled));
    let second: Picked | undefined;
    try {
      second = this.#pickHedge(state, input);
    } catch (err) {
      // A strategy that throws anything but a refusal is a bug: the first attempt is stopped and
      // its permit given back before the request fails, not left running for no one.
      await dispose(a, input);
      throw err;
    }
    if (!second) return alone(await a.settled);
    const alias = state.group.alias;
    this.#d.events.hedge({ alias, outcome: 'started' });
    if (input.trace?.recording) input.trace.event('gateway.hedge', { 'gateway.model': alias, 'gateway.deployment': second.target.deployment.name });
    state.tried.add(second.target);
    const b = new RacingAttempt(second, input.signal, (signal) => input.attempt(second.target, attemptNumber + 1, signal));
    const failures: Failed[] = [];
    let pending = [a, b];
    while (pending.length > 0) {
      const done = await Promise.race(pending.map((r) => r.settled));
      pending = pending.filter((r) => r !== done.run);
      if (done.result?.ok === true) {
        await Promise.all(pending.map((loser) => dispose(loser, input)));
        this.#d.events.hedge({ alias, outcome: done.run === b ? 'won' : 'lost' });
        return { won: { picked: done.run.picked, value: done.result.value }, failures, made: 2 };
      }
      if (done.result === undefined) {
        // A throw is a bug: the other attempt is stopped, both permits given back.
        done.run.picked.permit.release();
        await Promise.all(pending.map((other) => dispose(other, input)));
        throw done.thrown;
      }
      failures.push({ picked: done.run.picked, failure: done.result.failure });
    }
    // Neither answered: the hedge did not win (so `started` = `won` + `lost`).
    this.#d.events.hedge({ alias, outcome: 'lost' });
    return { failures, made: 2 };
  }

  /**
   * The hedge's target: the balancer's pick among the alias's untried, available deployments
   * (one that cannot express the request is skipped), if the alias's hedge budget has room.
   */
  #pickHedge<T>(state: GroupState, input: ExecuteInput<T>): Picked | undefined {
    const alias = state.group.alias;
    let picked: Picked | undefined;
    try {
      picked = this.#pick(state, this.#d.clock.nowMs(), true);
      // Bounded: each refusal removes a target from the candidates.
      while (picked && skipIfRefused(picked, state, input)) picked = this.#pick(state, this.#d.clock.nowMs(), true);
    } catch (err) {
      // A strategy refusing the request (predicted_latency shedding an SLO no untried deployment
      // is predicted to meet) refuses only the hedge: the first attempt is serving the request.
      if (!(err instanceof GatewayError)) throw err;
      picked = undefined;
    }
    if (!picked) {
      this.#d.events.hedge({ alias, outcome: 'no_target' });
      return undefined;
    }
    if (!this.#hedgeBudget(state.group).tryHedge(this.#d.clock.nowMs(), state.group.hedge?.maxPercent ?? 0)) {
      picked.permit.release();
      this.#d.events.hedge({ alias, outcome: 'budget_exhausted' });
      return undefined;
    }
    return picked;
  }

  #hedgeBudget(group: RuntimeModel): HedgeBudget {
    let budget = this.#hedgeBudgets.get(group);
    if (!budget) this.#hedgeBudgets.set(group, (budget = new HedgeBudget(this.#d.clock.nowMs())));
    return budget;
  }

  /**
   * Takes a retry-budget slot when `budgeted` (another try on a deployment that already failed
   * this request) and waits the backoff. Returns the target to use (re-picked after a backoff,
   * since health may have changed while we slept); undefined to stop (deadline too close); or
   * 'alias-exhausted' when this alias has nothing left to try (budget spent, or the re-pick after
   * the backoff found nothing), so the plan moves on to its fallbacks.
   */
  async #prepareRetry<T>(
    picked: Picked,
    state: GroupState,
    last: { failure: AttemptFailure; target: RuntimeTarget } | undefined,
    n: number,
    input: ExecuteInput<T>,
    budgeted: boolean,
  ): Promise<Picked | 'alias-exhausted' | undefined> {
    if (budgeted && !this.#d.budget.tryStartRetry()) {
      picked.permit.release();
      this.#d.events.retryBudgetExhausted({ requestId: input.requestId, alias: picked.target.alias });
      input.trace?.event('gateway.retry_budget_exhausted', { 'gateway.model': picked.target.alias });
      return 'alias-exhausted';
    }
    // Another deployment gets the retry at once; the same one gets a jittered backoff, unless
    // it was a 429 whose Retry-After we already waited out.
    const sameTarget = last?.target === picked.target;
    const delayMs = sameTarget && last?.failure.outcome !== 'rate_limited' ? backoffDelayMs(this.#d.retry, Math.max(0, n - 1), this.#d.random) : 0;
    this.#d.events.retry({ requestId: input.requestId, alias: picked.target.alias, fromDeployment: last?.target.deployment.name ?? '', reason: last?.failure.outcome ?? 'server_error', delayMs });
    if (input.trace?.recording) input.trace.event('gateway.retry', { 'gateway.model': picked.target.alias, 'gateway.deployment': last?.target.deployment.name ?? '', 'gateway.retry.reason': last?.failure.outcome ?? 'server_error', 'gateway.retry.delay_ms': delayMs });
    if (delayMs <= 0) return picked;
    // Never sleep holding a breaker permit: a half-open probe slot would time out while we wait.
    picked.permit.release();
    if (this.#d.clock.nowMs() + delayMs >= input.deadlineMs) {
      if (budgeted) this.#d.budget.retryFinished();
      return undefined;
    }
    const repicked = await this.#sleepThenPick(delayMs, state, input, budgeted);
    if (repicked) return repicked;
    if (budgeted) this.#d.budget.retryFinished();
    return 'alias-exhausted';
  }

  async #sleepThenPick<T>(delayMs: number, state: GroupState, input: ExecuteInput<T>, budgeted: boolean): Promise<Picked | undefined> {
    // The re-pick may throw too (a strategy refusing the request): the slot goes back either way.
    try {
      await sleep(delayMs, input.signal);
      return this.#pick(state);
    } catch (err) {
      if (budgeted) this.#d.budget.retryFinished();
      throw err;
    }
  }

  #settleFailure(picked: Picked, f: AttemptFailure): void {
    if (f.countsForBreaker) picked.permit.failure();
    else picked.permit.release();
    if (f.outcome === 'rate_limited') {
      const ms = f.retryAfterMs ?? this.#d.retry.defaultCooldownMs;
      const d = picked.target.deployment;
      this.#cooldowns.start(d.name, ms);
      this.#d.events.cooldown({ deployment: d.name, durationMs: ms });
    }
  }
}

/** A hedged alias's attempt that ran alone (no hedge was due or possible). */
function alone<T>(settled: Awaited<RacingAttempt<T, Picked>['settled']>): Raced<T> {
  const { picked } = settled.run;
  if (settled.result === undefined) {
    // Attempts report upstream failures as results; a throw is a bug, but it must not leave a
    // half-open probe slot taken until its timeout.
    picked.permit.release();
    throw settled.thrown;
  }
  if (settled.result.ok) return { won: { picked, value: settled.result.value }, failures: [], made: 1 };
  return { failures: [{ picked, failure: settled.result.failure }], made: 1 };
}

/**
 * Stops a hedged pair's loser and waits for it to end (its abort closes the upstream connection
 * at once). Its permit goes back untold: being outrun is not a failure. A loser that had
 * answered too is discarded, never served or charged.
 */
async function dispose<T>(loser: RacingAttempt<T, Picked>, input: ExecuteInput<T>): Promise<void> {
  loser.lose();
  const { result } = await loser.settled;
  loser.picked.permit.release();
  if (result?.ok === true) input.discard?.(result.value);
}

/**
 * Skips a target that cannot express the request (its adapter refuses a parameter): nothing was
 * sent, so it is not an attempt, takes no budget slot and tells the breaker nothing.
 */
function skipIfRefused<T>(picked: Picked, state: GroupState, input: ExecuteInput<T>): { error: GatewayError; target: RuntimeTarget } | undefined {
  const error = input.refusal?.(picked.target);
  if (!error) return undefined;
  picked.permit.release();
  state.refused.add(picked.target);
  return { error, target: picked.target };
}

/**
 * The client's error when the last attempt failed. A 429 we pass on says when to come back even
 * if the provider did not (Bedrock's ThrottlingException, OpenAI-compatible servers without the
 * header): the earliest instant any candidate deployment is available again, which already
 * holds the provider's own Retry-After where it sent one (the cooldown is set from it).
 */
function finalError(f: AttemptFailure, plan: RoutePlan, clock: Clock, cooldowns: Cooldowns): GatewayError {
  if (f.outcome !== 'rate_limited') return f.error;
  const e = f.error;
  return new GatewayError(e.code, e.message, {
    status: e.status,
    type: e.type,
    param: e.param,
    publicCode: e.publicCode,
    ...(e.headers === undefined ? {} : { headers: e.headers }),
    retryAfterMs: earliestAvailableMs(plan, clock, cooldowns) ?? e.retryAfterMs ?? MIN_RETRY_AFTER_MS,
  });
}

/**
 * A client told to wait less than a second would mostly meet the same cooldown again, and
 * `Retry-After` has whole-second resolution anyway.
 */
const MIN_RETRY_AFTER_MS = 1000;

/**
 * Ms until the first of the plan's deployments can be tried again (its breaker admits a call
 * and its 429 cooldown is over), at least MIN_RETRY_AFTER_MS; undefined for an empty plan.
 */
function earliestAvailableMs(plan: RoutePlan, clock: Clock, cooldowns: Cooldowns): number | undefined {
  const now = clock.nowMs();
  let waitMs = Infinity;
  for (const group of plan.groups) {
    for (const t of group.targets) {
      const d = t.deployment;
      waitMs = Math.min(waitMs, Math.max(d.breaker.retryAfterMs(), cooldowns.untilMs(d.name) - now, 0));
    }
  }
  return Number.isFinite(waitMs) ? Math.max(MIN_RETRY_AFTER_MS, Math.ceil(waitMs)) : undefined;
}

/** 503 when nothing could be tried: every breaker open or cooling down (F-17: fail fast, no busy loop). */
function noTarget(plan: RoutePlan, clock: Clock, cooldowns: Cooldowns): GatewayError {
  const alias = plan.groups[0]?.alias ?? 'unknown';
  return new GatewayError('no_available_deployment', `No deployment of '${alias}' is available right now (circuit open or cooling down).`, {
    retryAfterMs: earliestAvailableMs(plan, clock, cooldowns) ?? MIN_RETRY_AFTER_MS,
  });
}

/** Span events for the deployments of `group` its breaker keeps out of this pick (open). */
function breakerSkips(group: RoutePlan['groups'][number], trace: RequestTrace): void {
  for (const t of group.targets) {
    if (t.deployment.breaker.state === 'open') trace.event('gateway.breaker_skip', { 'gateway.deployment': t.deployment.name, 'gateway.breaker.state': 'open' });
  }
}
