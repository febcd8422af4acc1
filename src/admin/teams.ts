import { eq, inArray, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { applyChange } from '../control/change.js';
import { apiKeys, apiKeySecrets, memberships, responses, spendDaily, teams } from '../control/store/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import { readableTeams } from './access.js';
import { createTeamBody, listOf, teamView, updateTeamBody } from './bodies.js';
import type { AdminCall, AdminRoute } from './context.js';
import { checkModels, configTenant, notFound, paged, pageOf } from './helpers.js';
import { teamFromConfig, teamFromRow } from './views.js';

export const teamRoutes: AdminRoute[] = [
  { method: 'GET', path: '/teams', summary: 'List teams (config and API)', action: 'team.read', query: paged, status: 200, response: listOf(teamView), handle: listTeams },
  { method: 'POST', path: '/teams', summary: 'Create a team', action: 'team.create', body: createTeamBody, status: 201, response: teamView, handle: createTeam },
  { method: 'GET', path: '/teams/{team}', summary: 'Get a team', action: 'team.read', status: 200, response: teamView, handle: getTeam },
  { method: 'PATCH', path: '/teams/{team}', summary: "Update a team's models, limits or metadata", action: 'team.update', body: updateTeamBody, status: 200, response: teamView, handle: updateTeam },
  { method: 'DELETE', path: '/teams/{team}', summary: 'Delete a team, revoking its keys, removing its members and deleting its stored responses', action: 'team.delete', status: 200, response: teamView, handle: deleteTeam },
];

/** Config teams and the store's, by name, one page at a time (`limit`, `after`). */
async function listTeams(call: AdminCall): Promise<{ status: number; body: unknown }> {
  const visible = readableTeams(call.actor, 'team.read');
  if (visible !== 'all' && visible.size === 0) call.require('team.read');
  const { limit, after } = pageOf(call.query);
  // limit + 1 of the store's, plus at most as many config teams as the file has: enough to fill a page and know if more follow.
  const rows = await call.db
    .select()
    .from(teams)
    // Byte order (COLLATE "C"), the order the merge below sorts in: a locale collation would
    // order names differently from it, and pages would skip or repeat teams.
    .where(after === undefined ? undefined : sql`${teams.name} COLLATE "C" > ${after}`)
    .orderBy(sql`${teams.name} COLLATE "C"`)
    .limit(limit + 1 + Object.keys(call.config.tenants).length);
  const tenants = call.config.tenants;
  const all = [...Object.entries(tenants).map(([n, t]) => teamFromConfig(n, t)), ...rows.filter((r) => !Object.hasOwn(tenants, r.name)).map(teamFromRow)];
  const merged = all.filter((t) => (after === undefined || t.name > after) && (visible === 'all' || visible.has(t.name))).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const data = merged.slice(0, limit);
  return { status: 200, body: { object: 'list', data, nextCursor: merged.length > limit ? (data.at(-1)?.name ?? null) : null } };
}

async function getTeam(call: AdminCall): Promise<{ status: number; body: unknown }> {
  const name = call.params[0] as string;
  call.require('team.read', name);
  const tenant = configTenant(call.config, name);
  if (tenant) return { status: 200, body: teamFromConfig(name, tenant) };
  const [row] = await call.db.select().from(teams).where(eq(teams.name, name));
  if (!row) throw notFound('team', name);
  return { status: 200, body: teamFromRow(row) };
}

async function createTeam(call: AdminCall<z.infer<typeof createTeamBody>>): Promise<{ status: number; body: unknown }> {
  const b = call.body;
  call.require('team.create');
  if (configTenant(call.config, b.name)) throw new GatewayError('resource_conflict', `The team '${b.name}' is defined in the config file (source: config); it cannot be made again here.`, { param: 'name' });
  checkModels(call.config, b.models, 'models');
  const row = { name: b.name, models: b.models, limits: b.limits ?? null, modelLimits: b.modelLimits ?? null, concurrency: b.concurrency ?? null, budgets: b.budgets ?? null, metadata: b.metadata ?? {}, payloads: b.payloads ?? null, queue: b.queue ?? null, createdAt: call.now, updatedAt: call.now };
  const created = await applyChange(call.db, call.now, async (tx) => {
    const inserted = await tx.insert(teams).values(row).onConflictDoNothing().returning();
    if (inserted.length === 0) throw new GatewayError('resource_conflict', `A team named '${b.name}' already exists.`, { param: 'name' });
    // The request log, the daily spend and stored prompts are filed under the team's name, and
    // kept after a team is deleted: a new team with that name would be shown them (and charged
    // them at a restart). A name with history stays the deleted team's.
    const [history] = await tx.select({ day: spendDaily.day }).from(spendDaily).where(eq(spendDaily.team, b.name)).limit(1);
    if (history) throw new GatewayError('resource_conflict', `The name '${b.name}' belonged to a deleted team whose request log and spend are kept; a new team cannot take it. Choose another name.`, { param: 'name' });
    const view = teamFromRow(inserted[0] as typeof row);
    return { result: view, audit: [call.audit({ action: 'team.created', targetType: 'team', targetId: b.name, after: view })] };
  });
  return { status: 201, body: created };
}

async function updateTeam(call: AdminCall<z.infer<typeof updateTeamBody>>): Promise<{ status: number; body: unknown }> {
  const name = call.params[0] as string;
  const b = call.body;
  call.require('team.update', name);
  readOnlyIfConfig(call, name);
  if (b.models) checkModels(call.config, b.models, 'models');
  const updated = await applyChange(call.db, call.now, async (tx) => {
    const [before] = await tx.select().from(teams).where(eq(teams.name, name)).for('update');
    if (!before) throw notFound('team', name);
    const [after] = await tx
      .update(teams)
      .set({
        ...(b.models !== undefined ? { models: b.models } : {}),
        ...(b.limits !== undefined ? { limits: b.limits } : {}),
        ...(b.modelLimits !== undefined ? { modelLimits: b.modelLimits } : {}),
        ...(b.concurrency !== undefined ? { concurrency: b.concurrency } : {}),
        ...(b.budgets !== undefined ? { budgets: b.budgets } : {}),
        ...(b.metadata !== undefined ? { metadata: b.metadata } : {}),
        ...(b.payloads !== undefined ? { payloads: b.payloads } : {}),
        ...(b.queue !== undefined ? { queue: b.queue } : {}),
        updatedAt: call.now,
      })
      .where(eq(teams.name, name))
      .returning();
    const view = teamFromRow(after as typeof before);
    return { result: view, audit: [call.audit({ action: 'team.updated', targetType: 'team', targetId: name, before: teamFromRow(before), after: view })] };
  });
  return { status: 200, body: updated };
}

async function deleteTeam(call: AdminCall): Promise<{ status: number; body: unknown }> {
  const name = call.params[0] as string;
  call.require('team.delete', name);
  readOnlyIfConfig(call, name);
  const deleted = await applyChange(call.db, call.now, async (tx) => {
    const [before] = await tx.select().from(teams).where(eq(teams.name, name)).for('update');
    if (!before) throw notFound('team', name);
    // Its keys are revoked (kept for the record, without secrets) and its memberships go with it.
    const revoked = await tx.update(apiKeys).set({ revokedAt: call.now }).where(eq(apiKeys.team, name)).returning({ id: apiKeys.id });
    if (revoked.length > 0) await tx.delete(apiKeySecrets).where(inArray(apiKeySecrets.keyId, revoked.map((k) => k.id)));
    await tx.delete(memberships).where(eq(memberships.team, name));
    // Stored responses are filed under the team's name: a new team of the same name must not find them.
    await tx.delete(responses).where(eq(responses.team, name));
    await tx.delete(teams).where(eq(teams.name, name));
    const view = teamFromRow(before);
    return { result: view, audit: [call.audit({ action: 'team.deleted', targetType: 'team', targetId: name, before: view, after: { revokedKeys: revoked.map((k) => k.id) } })] };
  });
  return { status: 200, body: deleted };
}

function readOnlyIfConfig(call: AdminCall, name: string): void {
  if (configTenant(call.config, name)) throw new GatewayError('resource_conflict', `The team '${name}' is defined in the config file (source: config): change it there.`);
}
