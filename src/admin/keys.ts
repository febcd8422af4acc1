import { formatUsd, usdToPico } from '../spend/money.js';
import { and, asc, eq, gt, inArray, isNull, lte, type SQL } from 'drizzle-orm';
import type { z } from 'zod';
import { applyChange, type ControlTx } from '../control/change.js';
import { newId, newSecret } from '../control/secrets.js';
import { apiKeys, apiKeySecrets, teams } from '../control/store/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import { readableTeams } from './access.js';
import { createKeyBody, keyView, keyWithSecret, listOf, rotateKeyBody, updateKeyBody } from './bodies.js';
import type { AdminCall, AdminReply, AdminRoute } from './context.js';
import { checkModels, configTenant, notFound, paged, pageOf } from './helpers.js';
import { configKeys, keyFromRow } from './views.js';

export const keyRoutes: AdminRoute[] = [
  { method: 'GET', path: '/keys', summary: 'List keys (config and API; never a secret)', action: 'key.read', query: { ...paged, team: 'Only this team’s keys.', revoked: '`true` to include revoked keys.' }, status: 200, response: listOf(keyView), handle: listKeys },
  { method: 'POST', path: '/keys', summary: 'Issue a key; the secret is in this response only', action: 'key.write', body: createKeyBody, status: 201, response: keyWithSecret, handle: createKey },
  { method: 'GET', path: '/keys/{id}', summary: 'Get a key', action: 'key.read', status: 200, response: keyView, handle: getKey },
  { method: 'PATCH', path: '/keys/{id}', summary: "Update a key's name, role, models, limits, budgets, cost ceiling, expiry or metadata", action: 'key.write', body: updateKeyBody, status: 200, response: keyView, handle: updateKey },
  { method: 'DELETE', path: '/keys/{id}', summary: 'Revoke a key (refused on every replica within a second)', action: 'key.write', status: 200, response: keyView, handle: revokeKey },
  { method: 'POST', path: '/keys/{id}/rotate', summary: 'New secret; the old one works for a grace period', action: 'key.write', body: rotateKeyBody, status: 200, response: keyWithSecret, handle: rotateKey },
];

async function listKeys(call: AdminCall): Promise<AdminReply> {
  const visible = readableTeams(call.actor, 'key.read');
  if (visible !== 'all' && visible.size === 0) call.require('key.read');
  const { limit, after } = pageOf(call.query);
  const team = call.query.get('team') ?? undefined;
  if (team !== undefined) call.require('key.read', team);
  const conditions: SQL[] = [];
  if (team !== undefined) conditions.push(eq(apiKeys.team, team));
  // Only the teams the caller may read, in the query itself: filtering a page afterwards would
  // end the list early whenever other teams' keys filled the page.
  else if (visible !== 'all') conditions.push(inArray(apiKeys.team, [...visible]));
  if (call.query.get('revoked') !== 'true') conditions.push(isNull(apiKeys.revokedAt));
  if (after !== undefined) conditions.push(gt(apiKeys.id, after));
  // Config keys first (their ids sort before `key_…`), then the store's, one page at a time.
  const fromConfig = Object.entries(call.config.tenants)
    .filter(([name]) => team === undefined || name === team)
    .flatMap(([name, t]) => configKeys(name, t))
    .filter((k) => after === undefined || k.id > after);
  const rows = await call.db
    .select()
    .from(apiKeys)
    .where(and(...conditions))
    .orderBy(asc(apiKeys.id))
    .limit(limit + 1);
  const merged = [...fromConfig, ...rows.map(keyFromRow)].filter((k) => visible === 'all' || visible.has(k.team)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const data = merged.slice(0, limit);
  const more = merged.length > limit;
  return { status: 200, body: { object: 'list', data, nextCursor: more ? (data.at(-1)?.id ?? null) : null } };
}

async function getKey(call: AdminCall): Promise<AdminReply> {
  const id = call.params[0] as string;
  const fromConfig = configKeyById(call, id);
  if (fromConfig) {
    call.require('key.read', fromConfig.team);
    return { status: 200, body: fromConfig };
  }
  const [row] = await call.db.select().from(apiKeys).where(eq(apiKeys.id, id));
  // An unknown id is a 404, a key of a team the caller may not read a 403 (and audited): ids are
  // random, so telling the two apart gives nothing away that could be guessed.
  if (!row) throw notFound('key', id);
  call.require('key.read', row.team);
  return { status: 200, body: keyFromRow(row) };
}

async function createKey(call: AdminCall<z.infer<typeof createKeyBody>>): Promise<AdminReply> {
  const b = call.body;
  call.require('key.write', b.team);
  const expiresAt = b.expiresAt === undefined ? null : new Date(b.expiresAt);
  if (expiresAt && expiresAt.getTime() <= call.now.getTime()) throw new GatewayError('invalid_request', 'expiresAt: must be in the future.', { param: 'expiresAt' });
  if (b.models) checkModels(call.config, b.models, 'models');
  const secret = newSecret();
  const id = newId('key');
  const created = await applyChange(call.db, call.now, async (tx) => {
    await checkTeamAllows(call, tx, b.team, b.models);
    const [row] = await tx
      .insert(apiKeys)
      .values({ id, team: b.team, name: b.name ?? null, role: b.role, models: b.models ?? null, limits: b.limits ?? null, budgets: b.budgets ?? null, maxCostPerRequestUsd: b.maxCostPerRequestUsd === undefined ? null : formatUsd(usdToPico(b.maxCostPerRequestUsd)), metadata: b.metadata ?? {}, prefix: secret.prefix, expiresAt, createdAt: call.now, createdBy: call.actor.audit.id })
      .returning();
    await tx.insert(apiKeySecrets).values({ digest: secret.digest, keyId: id, createdAt: call.now });
    const view = keyFromRow(row as typeof apiKeys.$inferSelect);
    return { result: view, audit: [call.audit({ action: 'key.created', targetType: 'key', targetId: id, after: view })] };
  });
  return { status: 201, body: { ...created, key: secret.secret } };
}

async function updateKey(call: AdminCall<z.infer<typeof updateKeyBody>>): Promise<AdminReply> {
  const id = call.params[0] as string;
  const b = call.body;
  readOnlyIfConfig(call, id);
  const expiresAt = b.expiresAt === undefined || b.expiresAt === null ? b.expiresAt : new Date(b.expiresAt);
  const updated = await applyChange(call.db, call.now, async (tx) => {
    // The permission on the key's team first: someone who may not change it learns nothing of the models.
    const before = await lockKey(call, tx, id, false, b.models !== undefined && b.models !== null);
    if (b.models) checkModels(call.config, b.models, 'models');
    if (b.models) await checkTeamAllows(call, tx, before.team, b.models);
    const [after] = await tx
      .update(apiKeys)
      .set({
        ...(b.name !== undefined ? { name: b.name } : {}),
        ...(b.role !== undefined ? { role: b.role } : {}),
        ...(b.models !== undefined ? { models: b.models } : {}),
        ...(b.limits !== undefined ? { limits: b.limits } : {}),
        ...(b.budgets !== undefined ? { budgets: b.budgets } : {}),
        ...(b.maxCostPerRequestUsd !== undefined ? { maxCostPerRequestUsd: b.maxCostPerRequestUsd === null ? null : formatUsd(usdToPico(b.maxCostPerRequestUsd)) } : {}),
        ...(expiresAt !== undefined ? { expiresAt } : {}),
        ...(b.metadata !== undefined ? { metadata: b.metadata } : {}),
      })
      .where(eq(apiKeys.id, id))
      .returning();
    const view = keyFromRow(after as typeof before);
    return { result: view, audit: [call.audit({ action: 'key.updated', targetType: 'key', targetId: id, before: keyFromRow(before), after: view })] };
  });
  return { status: 200, body: updated };
}

async function revokeKey(call: AdminCall): Promise<AdminReply> {
  const id = call.params[0] as string;
  readOnlyIfConfig(call, id);
  const revoked = await applyChange(call.db, call.now, async (tx) => {
    const before = await lockKey(call, tx, id, true);
    if (before.revokedAt) return { result: keyFromRow(before), audit: [] };
    await tx.delete(apiKeySecrets).where(eq(apiKeySecrets.keyId, id));
    const [after] = await tx.update(apiKeys).set({ revokedAt: call.now }).where(eq(apiKeys.id, id)).returning();
    const view = keyFromRow(after as typeof before);
    return { result: view, audit: [call.audit({ action: 'key.revoked', targetType: 'key', targetId: id, before: keyFromRow(before), after: view })] };
  });
  return { status: 200, body: revoked };
}

async function rotateKey(call: AdminCall<z.infer<typeof rotateKeyBody>>): Promise<AdminReply> {
  const id = call.params[0] as string;
  readOnlyIfConfig(call, id);
  const graceMs = call.body.graceMs ?? call.ctx.rotationGraceMs;
  const retiresAt = new Date(call.now.getTime() + graceMs);
  const secret = newSecret();
  const rotated = await applyChange(call.db, call.now, async (tx) => {
    const before = await lockKey(call, tx, id);
    // Secrets whose grace has already ended are deleted; the current one gets the grace period;
    // secrets still in an earlier grace keep their own end.
    await tx.delete(apiKeySecrets).where(and(eq(apiKeySecrets.keyId, id), lte(apiKeySecrets.retiresAt, call.now)));
    await tx.update(apiKeySecrets).set({ retiresAt }).where(and(eq(apiKeySecrets.keyId, id), isNull(apiKeySecrets.retiresAt)));
    if (graceMs === 0) await tx.delete(apiKeySecrets).where(eq(apiKeySecrets.keyId, id));
    await tx.insert(apiKeySecrets).values({ digest: secret.digest, keyId: id, createdAt: call.now });
    const [after] = await tx.update(apiKeys).set({ prefix: secret.prefix }).where(eq(apiKeys.id, id)).returning();
    const view = keyFromRow(after as typeof before);
    return { result: view, audit: [call.audit({ action: 'key.rotated', targetType: 'key', targetId: id, before: keyFromRow(before), after: { ...view, previousSecretRetiresAt: retiresAt.toISOString() } })] };
  });
  return { status: 200, body: { ...rotated, key: secret.secret } };
}

/**
 * The key's row, locked for this transaction; 404 when absent or (unless allowed) revoked; 403
 * unless the actor manages its team. `lockTeamFirst`: the change reads the team too (models),
 * so its row is locked before the key's, in the order deleteTeam takes them (team, then its
 * keys); the other order deadlocks against a concurrent team deletion.
 */
async function lockKey(call: AdminCall, tx: ControlTx, id: string, revokedOk = false, lockTeamFirst = false): Promise<typeof apiKeys.$inferSelect> {
  if (lockTeamFirst) {
    const [unlocked] = await tx.select({ team: apiKeys.team }).from(apiKeys).where(eq(apiKeys.id, id));
    if (!unlocked) throw notFound('key', id);
    call.require('key.write', unlocked.team);
    await tx.select({ name: teams.name }).from(teams).where(eq(teams.name, unlocked.team)).for('share');
  }
  const [row] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
  if (!row) throw notFound('key', id);
  call.require('key.write', row.team);
  if (row.revokedAt && !revokedOk) throw new GatewayError('resource_conflict', `The key '${id}' is revoked; issue a new one.`);
  return row;
}

/** The team must exist (config or store), and a key's models must be among the team's. */
async function checkTeamAllows(call: AdminCall, tx: ControlTx, team: string, models: readonly string[] | undefined): Promise<void> {
  const tenant = configTenant(call.config, team);
  let teamModels: readonly string[];
  if (tenant) {
    teamModels = tenant.models;
  } else {
    const [row] = await tx.select({ models: teams.models }).from(teams).where(eq(teams.name, team)).for('share');
    if (!row) throw new GatewayError('invalid_request', `team: no team '${team}'.`, { param: 'team' });
    teamModels = row.models;
  }
  if (!models || teamModels.includes('*')) return;
  for (const [i, m] of models.entries()) {
    if (!teamModels.includes(m)) throw new GatewayError('invalid_request', `models[${i}]: the team '${team}' may not use '${m}'; a key's models must be a subset of its team's.`, { param: `models[${i}]` });
  }
}

function configKeyById(call: AdminCall, id: string): ReturnType<typeof configKeys>[number] | undefined {
  const m = /^config:(.+):(\d+)$/.exec(id);
  if (!m) return undefined;
  const tenant = configTenant(call.config, m[1] as string);
  return tenant ? configKeys(m[1] as string, tenant)[Number(m[2])] : undefined;
}

function readOnlyIfConfig(call: AdminCall, id: string): void {
  const key = configKeyById(call, id);
  if (!key) return;
  call.require('key.write', key.team);
  throw new GatewayError('resource_conflict', `The key '${id}' is defined in the config file (source: config): change it there.`);
}
