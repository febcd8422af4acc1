import type { ResolvedTenant } from '../config/load.js';
import type { ControlSnapshot } from '../control/snapshot.js';
import type { ControlStore } from '../control/store/store.js';
import type { Logger } from 'pino';
import type { BudgetPeriod } from './budget.js';
import type { MemoryBudgetLedger } from './memory-budget-ledger.js';
import { restoreSpend } from './restore-spend.js';

/** How long a start waits for the read-back before serving anyway (it goes on in the background). */
const WAIT_AT_START_MS = 10_000;
/** Tries while the database is unreachable: every RETRY_MS, for at most MAX_TRIES. */
const RETRY_MS = 5_000;
const MAX_TRIES = 120;

export interface RestoreDeps {
  readonly ledger: MemoryBudgetLedger;
  readonly store: () => ControlStore | undefined;
  readonly snapshot: () => ControlSnapshot;
  readonly tenants: Readonly<Record<string, ResolvedTenant>>;
  readonly wallMs: () => number;
  readonly logger: Logger;
  /** Wall-clock instant this process started counting spend itself. */
  readonly processStartMs: number;
}

/**
 * After a restart with in-process budget counters, gives every budgeted team and key the spend
 * its current windows already had (restore-spend.ts). Waits up to 10 s at start so budgets hold
 * from the first request; a database not reachable yet is retried in the background, and until
 * then budgets count this process's spend only (logged). Never throws.
 */
export async function restoreBudgetsOnStart(deps: RestoreDeps): Promise<void> {
  const attempt = async (): Promise<boolean> => {
    const store = deps.store();
    if (!store) return false;
    try {
      const seeded = await restoreSpend(store, { scopes: budgetScopes(deps.tenants, deps.snapshot()), seed: (...a) => deps.ledger.seed(...a) }, deps.processStartMs, deps.wallMs());
      if (seeded > 0) deps.logger.info({ counters: seeded }, 'budgets: spend from before this start read back from the request log');
      return true;
    } catch (err) {
      deps.logger.warn({ err }, 'budgets: the spend before this start could not be read back yet; retrying');
      return false;
    }
  };
  let tries = 0;
  const background = async (): Promise<void> => {
    while (++tries <= MAX_TRIES) {
      if (await attempt()) return;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
    }
    deps.logger.error('budgets: gave up reading back the spend before this start; budgets count from this start only');
  };
  const running = background();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([running, new Promise((resolve) => (timer = setTimeout(resolve, WAIT_AT_START_MS)))]);
  clearTimeout(timer);
}

/** Every budgeted scope by period: config tenants, store teams (a config tenant wins a name) and store keys. */
export function budgetScopes(tenants: Readonly<Record<string, ResolvedTenant>>, snapshot: ControlSnapshot): Map<BudgetPeriod, Set<string>> {
  const scopes = new Map<BudgetPeriod, Set<string>>();
  const add = (scope: string, budgets: ReadonlyArray<{ readonly period: BudgetPeriod }> | null | undefined): void => {
    for (const b of budgets ?? []) {
      let set = scopes.get(b.period);
      if (!set) scopes.set(b.period, (set = new Set()));
      set.add(scope);
    }
  };
  for (const [name, t] of Object.entries(tenants)) add(`team:${name}`, t.budgets);
  for (const [name, t] of snapshot.teams) if (!Object.hasOwn(tenants, name)) add(`team:${name}`, t.budgets);
  for (const { key } of snapshot.keys.values()) add(`key:${key.id}`, key.budgets);
  return scopes;
}
