import { and, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { emptySnapshot, type ControlSnapshot, type KeyRole, type KeySecretEntry, type StoredKey, type StoredUser } from './snapshot.js';
import { apiKeySecrets, apiKeys, controlState, memberships, teams, users } from './store/schema.js';
import type { ControlDb } from './store/store.js';

/** The version the store is at: one small read, so a resync costs nothing when nothing changed. */
export async function storeVersion(db: ControlDb): Promise<number> {
  const [row] = await db.select({ version: controlState.version }).from(controlState);
  return row?.version ?? 0;
}

/**
 * Reads the whole control state in one read-only, repeatable-read transaction, so the version
 * and every row come from the same moment.
 */
export async function loadSnapshot(db: ControlDb): Promise<ControlSnapshot> {
  return db.transaction(
    async (tx) => {
      const [state] = await tx.select({ version: controlState.version }).from(controlState);
      if (!state) return emptySnapshot;
      const teamRows = await tx.select().from(teams);
      const keyRows = await tx
        .select({ digest: apiKeySecrets.digest, retiresAt: apiKeySecrets.retiresAt, key: apiKeys })
        .from(apiKeySecrets)
        .innerJoin(apiKeys, eq(apiKeys.id, apiKeySecrets.keyId))
        // A rotated-away secret whose grace has ended is left out (the authenticator also checks the time).
        .where(and(isNull(apiKeys.revokedAt), or(isNull(apiKeySecrets.retiresAt), gt(apiKeySecrets.retiresAt, sql`now()`))));
      const userRows = await tx.select().from(users);
      const memberRows = await tx.select().from(memberships);

      const keys = new Map<string, KeySecretEntry>();
      const byId = new Map<string, StoredKey>();
      for (const r of keyRows) {
        let key = byId.get(r.key.id);
        if (!key) {
          key = { id: r.key.id, team: r.key.team, role: r.key.role, models: r.key.models, limits: r.key.limits, expiresAtMs: r.key.expiresAt?.getTime() };
          byId.set(key.id, key);
        }
        keys.set(r.digest, { key, retiresAtMs: r.retiresAt?.getTime() });
      }
      const teamsOf = new Map<string, Map<string, KeyRole>>();
      for (const m of memberRows) {
        const map = teamsOf.get(m.userId) ?? new Map<string, KeyRole>();
        map.set(m.team, m.role);
        teamsOf.set(m.userId, map);
      }
      const usersBySubject = new Map<string, StoredUser>();
      for (const u of userRows) usersBySubject.set(u.subject, { id: u.id, subject: u.subject, role: u.role, teams: teamsOf.get(u.id) ?? new Map() });
      return {
        version: state.version,
        keys,
        teams: new Map(teamRows.map((t) => [t.name, { name: t.name, models: t.models, limits: t.limits, modelLimits: t.modelLimits, concurrency: t.concurrency }])),
        users: usersBySubject,
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
