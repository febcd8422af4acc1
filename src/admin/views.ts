import type { z } from 'zod';
import type { ResolvedTenant } from '../config/load.js';
import type { BudgetConfig } from '../config/schema.js';
import type { apiKeys, teams, users } from '../control/store/schema.js';
import { formatUsd, usdToPico } from '../spend/money.js';
import type { keyView, teamView, userView } from './bodies.js';

/** Rows of the store and entries of the config file, as the admin API shows them. Never a secret or digest. */

type TeamRow = typeof teams.$inferSelect;
type KeyRow = typeof apiKeys.$inferSelect;
type UserRow = typeof users.$inferSelect;

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export function teamFromRow(t: TeamRow): z.infer<typeof teamView> {
  return { name: t.name, source: 'api', models: t.models, limits: t.limits ?? null, modelLimits: t.modelLimits ?? null, concurrency: t.concurrency ?? null, budgets: budgetsView(t.budgets), metadata: t.metadata, payloads: t.payloads ?? null, queue: t.queue ?? null, createdAt: iso(t.createdAt), updatedAt: iso(t.updatedAt) };
}

export function teamFromConfig(name: string, t: ResolvedTenant): z.infer<typeof teamView> {
  return { name, source: 'config', models: [...t.models], limits: t.limits ?? null, modelLimits: t.modelLimits ?? null, concurrency: t.concurrency ?? null, budgets: budgetsView(t.budgets), metadata: {}, payloads: t.payloads ?? null, queue: t.queue ?? null, createdAt: null, updatedAt: null };
}

export function keyFromRow(k: KeyRow): z.infer<typeof keyView> {
  return {
    id: k.id,
    source: 'api',
    team: k.team,
    name: k.name,
    role: k.role,
    prefix: k.prefix,
    models: k.models,
    limits: k.limits ?? null,
    budgets: budgetsView(k.budgets),
    max_cost_per_request_usd: k.maxCostPerRequestUsd === null ? null : formatUsd(usdToPico(k.maxCostPerRequestUsd)),
    metadata: k.metadata,
    expiresAt: iso(k.expiresAt),
    revokedAt: iso(k.revokedAt),
    createdAt: iso(k.createdAt),
    createdBy: k.createdBy,
    lastUsedAt: iso(k.lastUsedAt),
  };
}

/** Config keys have no id of their own: `config:<tenant>:<position in its keys list>`. */
export function configKeys(name: string, t: ResolvedTenant): Array<z.infer<typeof keyView>> {
  return t.keyDigests.map((_, i) => ({
    id: `config:${name}:${i}`,
    source: 'config',
    team: name,
    name: null,
    role: 'member',
    prefix: null,
    models: null,
    limits: null,
    budgets: null,
    max_cost_per_request_usd: t.maxCostPerRequestUsd === undefined ? null : formatUsd(usdToPico(t.maxCostPerRequestUsd)),
    metadata: {},
    expiresAt: null,
    revokedAt: null,
    createdAt: null,
    createdBy: null,
    lastUsedAt: null,
  }));
}

export function userFromRow(u: UserRow, teams: ReadonlyArray<{ team: string; role: 'team_admin' | 'member' | 'viewer' }>): z.infer<typeof userView> {
  return { id: u.id, subject: u.subject, email: u.email, role: u.role, teams: [...teams], createdAt: u.createdAt.toISOString(), updatedAt: u.updatedAt.toISOString() };
}

/** Budgets with their amounts as exact decimal strings. */
export function budgetsView(budgets: readonly BudgetConfig[] | null | undefined): Array<{ period: BudgetConfig['period']; limit_usd: string | null; soft_limit_usd: string | null }> | null {
  if (!budgets) return null;
  const usd = (v: string | number | undefined): string | null => (v === undefined ? null : formatUsd(usdToPico(v)));
  return budgets.map((b) => ({ period: b.period, limit_usd: usd(b.limitUsd), soft_limit_usd: usd(b.softLimitUsd) }));
}
