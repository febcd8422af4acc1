/**
 * The budget half of admission (docs/budgets.md): reserve the request's worst-case cost against
 * every budget of its team and key before any upstream call, settle with the real cost when it
 * ends. A hard limit with no room refuses the request (429 budget_exceeded); a settle that
 * crosses a soft limit is announced (log, metric, webhook) by the one replica that made it.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import type { FailureMode } from '../config/schema.js';
import { GatewayError, type GatewayErrorOptions } from '../errors/gateway-error.js';
import type { GatewayEvents } from '../observability/events.js';
import type { RuntimeModel } from '../routing/runtime-types.js';
import { describeBudget, scopeType, type BudgetRule } from '../spend/budget.js';
import { BudgetUnavailableError, type BudgetHold, type BudgetLedger, type BudgetState } from '../spend/budget-ledger.js';
import { formatUsd } from '../spend/money.js';
import { worstCaseCost } from '../spend/price.js';

/**
 * The most a request can cost on `model`: the worst case of its dearest priced target. A target
 * without a price adds nothing (unpriced models are not limited by budgets; their requests are
 * counted as unpriced by the cost path). 0 when no target has a price.
 */
export function worstCaseOf(model: RuntimeModel, tokens: { promptTokens: number; outputTokens: number }, ceilingPico?: bigint): number {
  let worst = 0;
  for (const t of model.targets) {
    if (!t.price) continue;
    const cost = worstCaseCost(tokens.promptTokens, tokens.outputTokens, t.price);
    // A target above the request's cost ceiling is skipped, never tried: it reserves nothing.
    if (ceilingPico === undefined || BigInt(cost) <= ceilingPico) worst = Math.max(worst, cost);
  }
  return worst;
}

export interface BudgetGateOptions {
  readonly ledger: BudgetLedger;
  /** How long a reservation may stay unsettled: the request's total deadline plus a margin. */
  readonly holdMs: number;
  readonly failureMode: FailureMode;
  readonly clock: { wallMs(): number };
}

export class BudgetGate {
  constructor(
    private readonly options: BudgetGateOptions,
    private readonly events: GatewayEvents,
  ) {}

  /**
   * Reserves `amountPico` on every budget of the principal, or throws budget_exceeded (429) /
   * budget_unavailable (503). Resolves with nothing to settle when there is nothing to count:
   * no budgets, or a worst case of 0 (no priced target).
   */
  async reserve(principal: Principal, model: RuntimeModel, amountPico: number): Promise<{ hold: BudgetHold | undefined; overSoftLimit: boolean }> {
    const rules = principal.budgets;
    if (!rules || rules.length === 0 || amountPico <= 0) return { hold: undefined, overSoftLimit: false };
    let result;
    try {
      result = await this.options.ledger.reserve({ id: randomUUID(), team: principal.tenant, rules, amountPico, holdMs: this.options.holdMs, failureMode: this.options.failureMode });
    } catch (err) {
      if (!(err instanceof BudgetUnavailableError)) throw err;
      this.events.budgetDegraded({ tenant: principal.tenant, mode: 'closed' });
      throw new GatewayError('budget_unavailable', 'Budgets cannot be checked right now, and this gateway refuses requests rather than admit them unchecked. Retry after the time given in Retry-After.', {
        retryAfterMs: Math.max(1000, err.retryAfterMs),
      });
    }
    if (result.degraded) this.events.budgetDegraded({ tenant: principal.tenant, mode: 'open' });
    const rejected = result.rejectedIndex === undefined ? undefined : result.states[result.rejectedIndex];
    const ratio = teamSpentRatio(result.states);
    const until = teamWindowsEndMs(result.states);
    this.events.budgetDecision({
      tenant: principal.tenant,
      model: model.alias,
      allowed: result.allowed,
      ...(rejected ? { rejected: { scope: rejected.rule.scope, scopeType: scopeType(rejected.rule), period: rejected.rule.period } } : {}),
      ...(ratio === undefined ? {} : { teamSpentRatio: ratio }),
      ...(ratio === undefined || until === undefined ? {} : { teamSpentRatioUntilMs: until }),
    });
    // The team has passed a soft limit (spend settled before this request): its models' overBudget aliases apply.
    const overSoftLimit = result.states.some((s) => scopeType(s.rule) === 'team' && s.rule.softLimitPico !== undefined && s.spentPico >= s.rule.softLimitPico);
    if (rejected || !result.hold) throw this.#exceeded(rejected, amountPico, overSoftLimit);
    return { hold: result.hold, overSoftLimit };
  }

  /** Settles a hold with the real cost (0: nothing to charge); announces soft limits crossed. Never throws. */
  settle(principal: Principal, hold: BudgetHold | undefined, actualPico: number): void {
    if (!hold) return;
    hold.settle(actualPico).then(
      (crossings) => {
        for (const c of crossings) {
          this.events.budgetSoftLimitCrossed({
            tenant: principal.tenant,
            scope: c.rule.scope,
            scopeType: scopeType(c.rule),
            period: c.rule.period,
            windowStart: new Date(c.window.startMs).toISOString(),
            windowEnd: c.window.endMs === undefined ? undefined : new Date(c.window.endMs).toISOString(),
            softLimitPico: c.rule.softLimitPico ?? 0n,
            limitPico: c.rule.limitPico,
            spentPico: c.spentPico,
          });
        }
      },
      () => undefined,
    );
  }

  #exceeded(state: BudgetState | undefined, amountPico: number, overSoftLimit: boolean): BudgetExceededError {
    if (!state || state.rule.limitPico === undefined) return new BudgetExceededError('A budget has no room for this request.', {}, overSoftLimit);
    const { rule, window } = state;
    const limit = rule.limitPico ?? 0n;
    const resets = window.endMs === undefined ? 'It is a lifetime budget and does not reset.' : `It resets at ${new Date(window.endMs).toISOString()}.`;
    const never = BigInt(amountPico) > limit ? ` This request alone could cost up to $${formatUsd(amountPico)}, more than the whole budget: lower max_tokens or shorten the prompt.` : '';
    const message =
      `Budget exceeded: the ${describeBudget(rule)} budget of $${formatUsd(limit)} has no room for this request ` +
      `($${formatUsd(state.spentPico)} spent, $${formatUsd(state.reservedPico)} held by requests in flight, this one could cost up to $${formatUsd(amountPico)}). ${resets}${never}`;
    return new BudgetExceededError(message, window.endMs === undefined ? {} : { retryAfterMs: Math.max(1000, window.endMs - this.options.clock.wallMs()) }, overSoftLimit);
  }
}

/**
 * 429 budget_exceeded. `overSoftLimit`: the team had already passed a soft limit, so an alias's
 * cheaper `overBudget` alias may still fit where this one's worst case does not (handle-request.ts):
 * near the hard limit is exactly where that fallback is wanted.
 */
export class BudgetExceededError extends GatewayError {
  constructor(
    message: string,
    options: GatewayErrorOptions,
    readonly overSoftLimit: boolean,
  ) {
    super('budget_exceeded', message, options);
  }
}

/** Spent ÷ hard limit of the team's fullest budget, for the gauge; undefined without a team hard limit. */
function teamSpentRatio(states: readonly BudgetState[]): number | undefined {
  let ratio: number | undefined;
  for (const s of states) {
    if (scopeType(s.rule) !== 'team' || !s.rule.limitPico) continue;
    const r = Number((s.spentPico * 1_000_000n) / s.rule.limitPico) / 1_000_000;
    ratio = Math.max(ratio ?? 0, r);
  }
  return ratio;
}

/** When the window of the budget that gives teamSpentRatio ends (its spend resets); undefined for a lifetime budget. */
function teamWindowsEndMs(states: readonly BudgetState[]): number | undefined {
  let best: { ratio: number; endMs: number | undefined } | undefined;
  for (const s of states) {
    if (scopeType(s.rule) !== 'team' || !s.rule.limitPico) continue;
    const ratio = Number((s.spentPico * 1_000_000n) / s.rule.limitPico);
    if (best === undefined || ratio > best.ratio) best = { ratio, endMs: s.window.endMs };
  }
  return best?.endMs;
}

export type { BudgetRule };
