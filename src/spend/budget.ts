/**
 * Spend budgets: what a team or key may spend in a UTC window (docs/budgets.md). A budget has a
 * hard limit (requests that might not fit are refused before any upstream call), a soft limit
 * (an alert when spend crosses it), or both. Amounts are whole picodollars (money.ts).
 */
import type { BudgetConfig } from '../config/schema.js';
import { usdToPico } from './money.js';

export type BudgetPeriod = 'daily' | 'weekly' | 'monthly' | 'lifetime';

/** One budget of one scope, as admission checks it. */
export interface BudgetRule {
  /** `team:<name>` or `key:<id>`: whose spend it counts. Made of operator-made names only. */
  readonly scope: string;
  readonly period: BudgetPeriod;
  /** Hard limit in pUSD. */
  readonly limitPico?: bigint;
  /** Soft limit in pUSD. */
  readonly softLimitPico?: bigint;
}

/** A budget's current window: its id (part of the counter's name) and when it ends. */
export interface BudgetWindow {
  /** The window's first day with a period letter (`d2026-12-05`, `w2026-11-30`, `m2026-12-01`), or `life`. */
  readonly id: string;
  readonly startMs: number;
  /** Undefined for `lifetime`: it never resets. */
  readonly endMs: number | undefined;
}

const DAY_MS = 86_400_000;

/**
 * The UTC window of `period` containing `wallMs`: days start at 00:00 UTC, weeks on Monday
 * 00:00 UTC, months on the 1st 00:00 UTC. The id is the window's first day (`d2026-12-05`,
 * `w2026-11-30`, `m2026-12-01`), or `life`.
 */
export function windowOf(period: BudgetPeriod, wallMs: number): BudgetWindow {
  const dayStart = Math.floor(wallMs / DAY_MS) * DAY_MS;
  switch (period) {
    case 'daily':
      return { id: `d${isoDay(dayStart)}`, startMs: dayStart, endMs: dayStart + DAY_MS };
    case 'weekly': {
      // getUTCDay: 0 = Sunday … 6 = Saturday; days since the last Monday.
      const sinceMonday = (new Date(dayStart).getUTCDay() + 6) % 7;
      const start = dayStart - sinceMonday * DAY_MS;
      return { id: `w${isoDay(start)}`, startMs: start, endMs: start + 7 * DAY_MS };
    }
    case 'monthly': {
      const d = new Date(dayStart);
      const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      return { id: `m${isoDay(start)}`, startMs: start, endMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
    }
    case 'lifetime':
      return { id: 'life', startMs: 0, endMs: undefined };
  }
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A config or store budget list as rules of one scope (amounts already validated by the schema). */
export function budgetRules(scope: string, budgets: readonly BudgetConfig[] | null | undefined): BudgetRule[] {
  if (!budgets) return [];
  return budgets.map((b) => ({
    scope,
    period: b.period,
    ...(b.limitUsd === undefined ? {} : { limitPico: usdToPico(b.limitUsd) }),
    ...(b.softLimitUsd === undefined ? {} : { softLimitPico: usdToPico(b.softLimitUsd) }),
  }));
}

/** "team 'acme' daily" / "key key_3f… monthly": how messages and logs name a budget. */
export function describeBudget(rule: BudgetRule): string {
  const [type, ...rest] = rule.scope.split(':');
  const name = rest.join(':');
  return type === 'team' ? `team '${name}' ${rule.period}` : `key ${name} ${rule.period}`;
}

/** `team` or `key`: the scope's type, a metric label. */
export function scopeType(rule: BudgetRule): 'team' | 'key' {
  return rule.scope.startsWith('key:') ? 'key' : 'team';
}
