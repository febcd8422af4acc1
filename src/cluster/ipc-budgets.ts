/**
 * Budgets of a `--workers N` process group on the memory backend: one MemoryBudgetLedger in the
 * primary, and this client in every worker, so budgets are exact across workers as in one
 * process (the rate limiter's pattern, ipc-limiter.ts). Amounts cross the channel as decimal
 * strings (IPC is JSON: no bigint). If the primary does not answer in time the call rejects with
 * StateUnavailableError, so the worker's FallbackBudgetLedger applies the failure mode, and the
 * reservation is released on the primary in case it is granted late (as the Redis ledger does).
 */
import type { BudgetRule, BudgetWindow } from '../spend/budget.js';
import { settleOnce, validateActual, validateReserve, type BudgetHold, type BudgetLedger, type ReserveRequest, type ReserveResult } from '../spend/budget-ledger.js';
import type { MemoryBudgetLedger } from '../spend/memory-budget-ledger.js';
import { StateUnavailableError } from '../state/state-errors.js';
import { primaryCall } from './ipc-limiter.js';
import type { RpcClient, RpcHandlers } from './rpc.js';

interface WireRule {
  readonly scope: string;
  readonly period: BudgetRule['period'];
  readonly limit?: string;
  readonly soft?: string;
}
interface WireWindow {
  readonly id: string;
  readonly startMs: number;
  readonly endMs: number | null;
}
interface WireReserve {
  readonly id: string;
  readonly team: string;
  readonly rules: readonly WireRule[];
  readonly amountPico: number;
  readonly holdMs: number;
  readonly failureMode: ReserveRequest['failureMode'];
}
interface WireResult {
  readonly allowed: boolean;
  readonly rejectedIndex: number | null;
  readonly states: ReadonlyArray<{ readonly window: WireWindow; readonly spent: string; readonly reserved: string }>;
}
interface WireSettle {
  readonly id: string;
  readonly actual: number;
  readonly rules: readonly WireRule[];
  readonly windows: readonly WireWindow[];
}
type WireCrossings = ReadonlyArray<{ readonly index: number; readonly window: WireWindow; readonly spent: string }>;

export class IpcBudgetLedger implements BudgetLedger {
  constructor(private readonly rpc: RpcClient) {}

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    validateReserve(request);
    const wire: WireReserve = { ...request, rules: request.rules.map(ruleToWire) };
    let result: WireResult;
    try {
      result = (await primaryCall(this.rpc, 'budget.reserve', wire)) as WireResult;
    } catch (err) {
      // The primary may still grant it (a busy primary answers late): nobody would settle that
      // reservation, so ask for it back. The primary handles messages in order, so the release
      // comes after the reserve; if the primary never got the reserve, it is a no-op.
      if (err instanceof StateUnavailableError) void primaryCall(this.rpc, 'budget.release', { id: request.id }).catch(() => undefined);
      throw err;
    }
    const hold: BudgetHold | undefined = result.allowed
      ? settleOnce(async (actual) => {
          validateActual(actual);
          // The primary settles by id in the windows this reserve used (it keeps no per-request state).
          const settle: WireSettle = { id: request.id, actual, rules: wire.rules, windows: result.states.map((st) => st.window) };
          try {
            const crossings = (await primaryCall(this.rpc, 'budget.settle', settle)) as WireCrossings;
            return crossings.flatMap((c) => {
              const rule = request.rules[c.index];
              return rule ? [{ rule, window: windowFromWire(c.window), spentPico: BigInt(c.spent) }] : [];
            });
          } catch {
            // The primary did not answer: its reservation expires there on its own.
            return [];
          }
        })
      : undefined;
    return {
      allowed: result.allowed,
      rejectedIndex: result.rejectedIndex ?? undefined,
      states: result.states.map((s, i) => ({ rule: request.rules[i] as BudgetRule, window: windowFromWire(s.window), spentPico: BigInt(s.spent), reservedPico: BigInt(s.reserved) })),
      hold,
      degraded: false,
    };
  }
}

/** The primary's side: serves `budget.*` calls from one ledger for every worker. */
export function budgetHandlers(ledger: MemoryBudgetLedger): RpcHandlers {
  return {
    'budget.reserve': async (params) => {
      const wire = params as WireReserve;
      const result = await ledger.reserve({ ...wire, rules: wire.rules.map(ruleFromWire) });
      const out: WireResult = {
        allowed: result.allowed,
        rejectedIndex: result.rejectedIndex ?? null,
        states: result.states.map((s) => ({ window: windowToWire(s.window), spent: s.spentPico.toString(), reserved: s.reservedPico.toString() })),
      };
      return out;
    },
    'budget.release': async (params) => {
      ledger.releaseById((params as { id: string }).id);
      return null;
    },
    'budget.settle': async (params) => {
      const wire = params as WireSettle;
      const targets = wire.rules.map((r, i) => ({ rule: ruleFromWire(r), window: windowFromWire(wire.windows[i] as WireWindow) }));
      const crossings = ledger.settleById(wire.id, targets, wire.actual);
      const out: WireCrossings = crossings.map((c) => ({ index: targets.findIndex((t) => t.rule.scope === c.rule.scope && t.rule.period === c.rule.period), window: windowToWire(c.window), spent: c.spentPico.toString() }));
      return out;
    },
  };
}

function ruleToWire(r: BudgetRule): WireRule {
  return { scope: r.scope, period: r.period, ...(r.limitPico === undefined ? {} : { limit: r.limitPico.toString() }), ...(r.softLimitPico === undefined ? {} : { soft: r.softLimitPico.toString() }) };
}

function ruleFromWire(r: WireRule): BudgetRule {
  return { scope: r.scope, period: r.period, ...(r.limit === undefined ? {} : { limitPico: BigInt(r.limit) }), ...(r.soft === undefined ? {} : { softLimitPico: BigInt(r.soft) }) };
}

function windowToWire(w: BudgetWindow): WireWindow {
  return { id: w.id, startMs: w.startMs, endMs: w.endMs ?? null };
}

function windowFromWire(w: WireWindow): BudgetWindow {
  return { id: w.id, startMs: w.startMs, endMs: w.endMs ?? undefined };
}
