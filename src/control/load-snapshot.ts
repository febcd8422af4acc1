import { sql } from 'drizzle-orm';
import { emptySnapshot, type ControlSnapshot, type KeyRole, type KeySecretEntry, type StoredKey, type StoredUser } from './snapshot.js';
import { controlState, memberships, teams, users } from './store/schema.js';
import type { ControlDb } from './store/store.js';

/** The version the store is at: one small read, so a resync costs nothing when nothing changed. */
export async function storeVersion(db: ControlDb): Promise<number> {
  const [row] = await db.select({ version: controlState.version }).from(controlState);
  return row?.version ?? 0;
}

/**
 * Key secrets read per fetch. The embedded database runs in this thread: one read of 10,000
 * keys held the event loop (and every request) for 0.3-1 s. A cursor read in pages, with a
 * yield between them, lets requests run while a large snapshot loads. (Pages by keyset instead
 * would re-plan every page, and without statistics, which the embedded database never gathers,
 * each page was a hash join over every key.)
 */
export const KEY_PAGE = 250;

const yieldToRequests = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A row of the key cursor, as both drivers return it (timestamps as Date, or text). */
interface KeyRow {
  readonly digest: string;
  readonly retires_at: Date | string | null;
  readonly id: string;
  readonly team: string;
  readonly role: KeyRole;
  readonly models: string[] | null;
  readonly limits: StoredKey['limits'];
  readonly budgets: StoredKey['budgets'];
  readonly max_cost_per_request_usd: string | null;
  readonly expires_at: Date | string | null;
}

const msOf = (t: Date | string | null): number | undefined => (t === null ? undefined : new Date(t).getTime());

/**
 * Reads the whole control state in one read-only, repeatable-read transaction, so the version
 * and every row come from the same moment. Only the columns the data plane uses are read.
 */
export async function loadSnapshot(db: ControlDb): Promise<ControlSnapshot> {
  return db.transaction(
    async (tx) => {
      const [state] = await tx.select({ version: controlState.version }).from(controlState);
      if (!state) return emptySnapshot;
      const teamRows = await tx.select({ name: teams.name, models: teams.models, limits: teams.limits, modelLimits: teams.modelLimits, concurrency: teams.concurrency, budgets: teams.budgets, payloads: teams.payloads, queue: teams.queue }).from(teams);
      const keys = new Map<string, KeySecretEntry>();
      const byId = new Map<string, StoredKey>();
      // A rotated-away secret whose grace has ended is left out (the authenticator also checks the time).
      await tx.execute(sql`DECLARE snapshot_keys NO SCROLL CURSOR FOR
        SELECT s.digest, s.retires_at, k.id, k.team, k.role, k.models, k.limits, k.budgets, k.max_cost_per_request_usd, k.expires_at
        FROM api_key_secrets s JOIN api_keys k ON k.id = s.key_id
        WHERE k.revoked_at IS NULL AND (s.retires_at IS NULL OR s.retires_at > now())`);
      for (;;) {
        const { rows } = (await tx.execute(sql.raw(`FETCH ${KEY_PAGE} FROM snapshot_keys`))) as unknown as { rows: KeyRow[] };
        for (const r of rows) {
          let key = byId.get(r.id);
          if (!key) {
            key = { id: r.id, team: r.team, role: r.role, models: r.models, limits: r.limits, budgets: r.budgets, maxCostPerRequestUsd: r.max_cost_per_request_usd, expiresAtMs: msOf(r.expires_at) };
            byId.set(key.id, key);
          }
          keys.set(r.digest, { key, retiresAtMs: msOf(r.retires_at) });
        }
        if (rows.length < KEY_PAGE) break;
        await yieldToRequests();
      }
      const userRows = await tx.select({ id: users.id, subject: users.subject, role: users.role }).from(users);
      const memberRows = await tx.select().from(memberships);

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
        teams: new Map(teamRows.map((t) => [t.name, { name: t.name, models: t.models, limits: t.limits, modelLimits: t.modelLimits, concurrency: t.concurrency, budgets: t.budgets, payloads: t.payloads, queue: t.queue }])),
        users: usersBySubject,
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
