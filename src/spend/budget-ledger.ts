/**
 * The budget-ledger contract: exact spend counters per budget window, shared by every replica
 * (Redis) or kept in one process (memory), with the same semantics, so admission never knows
 * which it has. The pattern is the rate limiter's: reserve the worst case before the upstream
 * call, all or nothing over every budget of the request; settle with the real cost once.
 *
 * Each budget window has two counters, in picodollars: `spent` (settled costs) and `reserved`
 * (worst cases of requests in flight). A reservation is admitted iff, for every budget with a
 * hard limit, spent + reserved + this reservation ≤ limit. Settling removes the reservation
 * from `reserved` and adds the actual cost to `spent`, in the same window the reservation was
 * taken in, exactly once. A reservation that is never settled (its replica crashed) expires
 * after `holdMs` and is dropped from `reserved` by the next decision that touches its team.
 */
import type { FailureMode } from '../config/schema.js';
import type { BudgetRule, BudgetWindow } from './budget.js';

export interface ReserveRequest {
  /** Unique per reservation (a request's admission of one alias). */
  readonly id: string;
  /** The team every budget here belongs to (a key's budgets too): one Redis hash tag. */
  readonly team: string;
  readonly rules: readonly BudgetRule[];
  /** Worst-case cost in pUSD: a safe non-negative integer. */
  readonly amountPico: number;
  /** How long the reservation may stay unsettled before it is dropped (the request's deadline + a margin). */
  readonly holdMs: number;
  /** While shared state is unavailable: admit against a local share (`open`) or refuse (`closed`). */
  readonly failureMode: FailureMode;
}

/** One budget's counters in the window the decision used. */
export interface BudgetState {
  readonly rule: BudgetRule;
  readonly window: BudgetWindow;
  readonly spentPico: bigint;
  readonly reservedPico: bigint;
}

export interface ReserveResult {
  readonly allowed: boolean;
  /** When refused: the index (into `rules`) of the first budget the reservation does not fit. */
  readonly rejectedIndex: number | undefined;
  /** Per rule, in order: counters after the decision (before it, when refused). */
  readonly states: readonly BudgetState[];
  /** When allowed: settle it (or release it with 0) exactly once. */
  readonly hold: BudgetHold | undefined;
  /** Shared state was unavailable and a local share decided (fail-open). */
  readonly degraded: boolean;
}

/** A soft limit that a settle made spend reach or pass (reported by exactly one settle). */
export interface SoftCrossing {
  readonly rule: BudgetRule;
  readonly window: BudgetWindow;
  readonly spentPico: bigint;
}

export interface BudgetHold {
  /**
   * Moves the reservation into spent as `actualPico` (0: nothing was spent, e.g. a refusal or a
   * fallback that served instead). The first call counts; later calls resolve with []. Resolves
   * with the soft limits this settle crossed. Never rejects: a settle that cannot reach shared
   * state leaves the reservation to expire (see docs/budgets.md, failure modes).
   */
  settle(actualPico: number): Promise<readonly SoftCrossing[]>;
}

export interface BudgetLedger {
  /**
   * All or nothing over `rules`. Rejects with BudgetUnavailableError when shared state is
   * unavailable and the failure mode is `closed`; RangeError on invalid input.
   */
  reserve(request: ReserveRequest): Promise<ReserveResult>;
}

/** Shared state is unavailable and budgets are fail-closed. */
export class BudgetUnavailableError extends Error {
  constructor(readonly retryAfterMs: number) {
    super('budgets cannot be checked right now');
    this.name = 'BudgetUnavailableError';
  }
}

/** Throws RangeError unless the request is well-formed (both ledgers check the same way). */
export function validateReserve(r: ReserveRequest): void {
  if (!Number.isSafeInteger(r.amountPico) || r.amountPico < 0) throw new RangeError(`amountPico must be a safe non-negative integer, got ${r.amountPico}`);
  if (!Number.isSafeInteger(r.holdMs) || r.holdMs <= 0) throw new RangeError(`holdMs must be a positive integer, got ${r.holdMs}`);
  for (const rule of r.rules) {
    if ((rule.limitPico ?? 0n) < 0n || (rule.softLimitPico ?? 0n) < 0n) throw new RangeError('budget limits must be non-negative');
  }
}

export function validateActual(actualPico: number): void {
  if (!Number.isSafeInteger(actualPico) || actualPico < 0) throw new RangeError(`actualPico must be a safe non-negative integer, got ${actualPico}`);
}

/** A hold whose settle runs once; later calls resolve with nothing. */
export function settleOnce(fn: (actualPico: number) => Promise<readonly SoftCrossing[]>): BudgetHold {
  let done = false;
  return {
    settle: (actualPico) => {
      if (done) return Promise.resolve([]);
      done = true;
      return fn(actualPico);
    },
  };
}
