import { sql } from 'drizzle-orm';
import type { ControlStore } from '../control/store/store.js';
import { windowOf, type BudgetPeriod } from './budget.js';

const DAY_MS = 86_400_000;

/** What a restore needs: which scopes have budgets of which period, and where to add their spend. */
export interface SpendRestoreTarget {
  /** Scopes (`team:<name>`, `key:<id>`) with a budget of each period. */
  readonly scopes: ReadonlyMap<BudgetPeriod, ReadonlySet<string>>;
  /** Adds spend made before this process started to a scope's counter for `period`'s current window. */
  seed(scope: string, period: BudgetPeriod, wallMs: number, spentPico: bigint): void;
}

/**
 * Reads back, from the request log, what budgeted teams and keys spent in their current windows
 * before this process started, so a restart does not hand every budget a fresh window
 * (`state.backend: memory`; with Redis the counters outlive the process). Exact and without
 * overlap: whole UTC days before the start day come from `spend_daily`, and the start day up to
 * the start instant from `request_log`; everything this process settles starts after that
 * instant and is counted by its own counters. Rows not yet in the database (a previous process's
 * unflushed buffer: at most `requestLog.flushMs` of a crash) are not seen: the documented bound.
 * Returns the number of counters seeded.
 */
export async function restoreSpend(store: ControlStore, target: SpendRestoreTarget, processStartMs: number, nowMs: number): Promise<number> {
  let seeded = 0;
  const startDayMs = Math.floor(processStartMs / DAY_MS) * DAY_MS;
  for (const [period, scopes] of target.scopes) {
    if (scopes.size === 0) continue;
    const window = windowOf(period, nowMs);
    // The whole window is this process's own: nothing before it to read back.
    if (window.startMs >= processStartMs) continue;
    const teams = [...scopes].filter((s) => s.startsWith('team:')).map((s) => s.slice('team:'.length));
    const keys = [...scopes].filter((s) => s.startsWith('key:')).map((s) => s.slice('key:'.length));
    const spent = new Map<string, bigint>();
    const add = (scope: string, pico: string | null): void => {
      if (pico !== null) spent.set(scope, (spent.get(scope) ?? 0n) + BigInt(pico));
    };
    for (const [kind, names] of [['team', teams], ['key', keys]] as const) {
      if (names.length === 0) continue;
      const column = sql.raw(kind === 'team' ? 'team' : 'key_id');
      const list = JSON.stringify(names);
      const fromDay = new Date(window.startMs).toISOString().slice(0, 10);
      const untilDay = new Date(startDayMs).toISOString().slice(0, 10);
      const days = await store.db.execute(sql`
        SELECT ${column} AS scope, sum(cost_pico)::text AS pico FROM spend_daily
        WHERE ${column} IN (SELECT jsonb_array_elements_text(${list}::jsonb)) AND day >= ${fromDay}::date AND day < ${untilDay}::date
        GROUP BY 1`);
      for (const r of rowsOf(days)) add(`${kind}:${r.scope}`, r.pico);
      const from = new Date(Math.max(window.startMs, startDayMs)).toISOString();
      const until = new Date(processStartMs).toISOString();
      const today = await store.db.execute(sql`
        SELECT ${column} AS scope, sum(cost_pico)::text AS pico FROM request_log
        WHERE ${column} IN (SELECT jsonb_array_elements_text(${list}::jsonb)) AND started_at >= ${from}::timestamptz AND started_at < ${until}::timestamptz
        GROUP BY 1`);
      for (const r of rowsOf(today)) add(`${kind}:${r.scope}`, r.pico);
    }
    for (const [scope, pico] of spent) {
      if (pico <= 0n) continue;
      target.seed(scope, period, nowMs, pico);
      seeded++;
    }
  }
  return seeded;
}

function rowsOf(result: unknown): Array<{ scope: string; pico: string | null }> {
  return (result as { rows: Array<{ scope: string; pico: string | null }> }).rows;
}
