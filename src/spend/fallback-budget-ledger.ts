/**
 * Budgets while Redis is unavailable: the rate limiter's failure modes (fallback-limiter.ts),
 * applied to money. While the shared ledger answers it decides alone. When it does not:
 * `closed` refuses (503 budget_unavailable); `open` admits against a local ledger in which each
 * hard limit is this process's share of what the shared ledger last said was left,
 * (limit − (spent + reserved)) ÷ processes, or limit ÷ processes for a budget not seen since
 * start. Together the replicas then stay near the limit; the overshoot this allows is in
 * docs/budgets.md. Spend settled locally is not copied to Redis when it returns.
 */
import { StateUnavailableError } from '../state/state-errors.js';
import type { Clock } from '../clock.js';
import { windowOf, type BudgetRule } from './budget.js';
import { BudgetUnavailableError, type BudgetLedger, type ReserveRequest, type ReserveResult } from './budget-ledger.js';
import { MemoryBudgetLedger } from './memory-budget-ledger.js';

// Budgets whose last shared figures are remembered (team and key budgets in use); beyond this
// the oldest are forgotten and fall back to a plain share.
const MAX_KNOWN = 10_000;

export interface FallbackBudgetOptions {
  /** How many processes share the budgets right now; ≥ 1. */
  readonly processes: () => number;
  readonly local: MemoryBudgetLedger;
  /** Picks the window of a remembered figure (the same wall clock the shared ledger uses). */
  readonly clock: Clock;
}

export class FallbackBudgetLedger implements BudgetLedger {
  readonly #shared: BudgetLedger;
  readonly #local: MemoryBudgetLedger;
  readonly #processes: () => number;
  readonly #clock: Clock;
  /** Per budget window: spent + reserved as the shared ledger last reported it. */
  readonly #known = new Map<string, bigint>();

  constructor(shared: BudgetLedger, options: FallbackBudgetOptions) {
    this.#shared = shared;
    this.#local = options.local;
    this.#processes = options.processes;
    this.#clock = options.clock;
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    let result: ReserveResult;
    try {
      result = await this.#shared.reserve(request);
    } catch (err) {
      if (!(err instanceof StateUnavailableError)) throw err;
      if (request.failureMode === 'closed') throw new BudgetUnavailableError(err.retryAfterMs);
      const local = await this.#local.reserve({ ...request, rules: request.rules.map((r) => this.#share(r)) });
      // Report the real limits (messages name them), with the local figures.
      return { ...local, states: local.states.map((s, i) => ({ ...s, rule: request.rules[i] ?? s.rule })), degraded: true };
    }
    for (const s of result.states) this.#remember(`${s.rule.scope}|${s.window.id}`, s.spentPico + s.reservedPico);
    return result;
  }

  #share(rule: BudgetRule): BudgetRule {
    if (rule.limitPico === undefined) return rule;
    const processes = BigInt(Math.max(1, Math.floor(this.#processes())));
    const used = this.#known.get(`${rule.scope}|${windowOf(rule.period, this.#clock.wallMs()).id}`) ?? 0n;
    const left = rule.limitPico - used;
    return { ...rule, limitPico: (left > 0n ? left : 0n) / processes };
  }

  #remember(key: string, used: bigint): void {
    this.#known.delete(key);
    this.#known.set(key, used);
    if (this.#known.size > MAX_KNOWN) {
      const oldest = this.#known.keys().next();
      if (!oldest.done) this.#known.delete(oldest.value);
    }
  }
}
