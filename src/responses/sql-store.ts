import { and, eq, gt, sql, type SQL } from 'drizzle-orm';
import type { ResponseItem, ResponseObject } from '../api/responses-types.js';
import { responses } from '../control/store/schema.js';
import type { ControlDb } from '../control/store/store.js';
import { chainAfter, DAY_MS, fits, StoreNotOpenError, type ConversationLimits, type ConversationLoad, type NewTurn, type ResponseStore } from './response-store.js';

export interface SqlStoreOptions {
  /** The control plane's database once open; undefined before (calls throw, answered 503). */
  readonly db: () => ControlDb | undefined;
  readonly retentionDays: number;
  readonly wallMs: () => number;
}

/** Expired rows deleted per statement, and statements per purge at most (a backlog is finished by the next runs). */
const DELETE_BATCH = 500;
const MAX_STATEMENTS = 20;

/**
 * Stored responses in the control plane's database (`responses`, migration 8), shared by every
 * replica on it. Statements are bounded by the driver's statement deadline (`state.database.
 * statementTimeoutMs` on a server); a conversation is read with one recursive query capped at the
 * turn count its last row records, after those counters were checked against the limits.
 */
export class SqlResponseStore implements ResponseStore {
  readonly kind = 'sql';

  constructor(private readonly options: SqlStoreOptions) {}

  #db(): ControlDb {
    const db = this.options.db();
    if (!db) throw new StoreNotOpenError('the control-plane database is not open');
    return db;
  }

  #now(): Date {
    return new Date(this.options.wallMs());
  }

  /** A response of the team that has not expired. */
  #visible(team: string, id: string): SQL {
    return and(eq(responses.id, id), eq(responses.team, team), gt(responses.expiresAt, this.#now())) as SQL;
  }

  async save(turn: NewTurn): Promise<void> {
    const chain = chainAfter(turn);
    const now = this.#now();
    const row = {
      id: turn.id,
      team: turn.team,
      createdBy: turn.createdBy,
      model: turn.model,
      previousResponseId: turn.previousResponseId ?? null,
      inputItems: [...turn.inputItems],
      output: turn.response.output,
      response: turn.response,
      depth: chain.turns,
      chainItems: chain.items,
      chainBytes: chain.bytes,
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.options.retentionDays * DAY_MS),
    };
    // An id is made once per request; a second save of it (none expected) keeps the first.
    await this.#db().insert(responses).values(row).onConflictDoNothing();
  }

  async conversation(team: string, id: string, limits: ConversationLimits): Promise<ConversationLoad> {
    const db = this.#db();
    const [head] = await db.select({ turns: responses.depth, items: responses.chainItems, bytes: responses.chainBytes }).from(responses).where(this.#visible(team, id));
    if (!head) return { kind: 'missing', earlier: false };
    const size = { turns: head.turns, items: head.items, bytes: Number(head.bytes) };
    if (!fits(size, limits)) return { kind: 'too_large', size };
    const now = this.#now().toISOString();
    // Each step stays in the team and skips expired rows; `n` stops it at the recorded turn count
    // even if the rows were to form a cycle (they cannot: a turn only names an older one).
    const result = await db.execute(sql`
      WITH RECURSIVE chain AS (
        SELECT id, previous_response_id, input_items, output, 1 AS n FROM responses
          WHERE id = ${id} AND team = ${team} AND expires_at > ${now}::timestamptz
        UNION ALL
        SELECT r.id, r.previous_response_id, r.input_items, r.output, c.n + 1 FROM responses r JOIN chain c ON r.id = c.previous_response_id
          WHERE r.team = ${team} AND r.expires_at > ${now}::timestamptz AND c.n < ${size.turns}
      )
      SELECT previous_response_id, input_items, output, n FROM chain ORDER BY n DESC`);
    const rows = (result as unknown as { rows: Array<{ previous_response_id: string | null; input_items: ResponseItem[]; output: ResponseItem[]; n: number }> }).rows;
    const oldest = rows[0];
    if (!oldest || oldest.previous_response_id !== null || rows.length !== size.turns) return { kind: 'missing', earlier: true };
    const items: ResponseItem[] = [];
    for (const r of rows) items.push(...r.input_items, ...r.output);
    return { kind: 'found', items, size };
  }

  async get(team: string, id: string): Promise<ResponseObject | undefined> {
    const [row] = await this.#db().select({ response: responses.response }).from(responses).where(this.#visible(team, id));
    return row?.response as ResponseObject | undefined;
  }

  async delete(team: string, id: string): Promise<boolean> {
    const gone = await this.#db().delete(responses).where(this.#visible(team, id)).returning({ id: responses.id });
    return gone.length > 0;
  }

  async inputItems(team: string, id: string): Promise<readonly ResponseItem[] | undefined> {
    const [row] = await this.#db().select({ inputItems: responses.inputItems }).from(responses).where(this.#visible(team, id));
    return row?.inputItems as ResponseItem[] | undefined;
  }

  async purgeExpired(): Promise<number> {
    const db = this.#db();
    const now = this.#now().toISOString();
    let total = 0;
    for (let i = 0; i < MAX_STATEMENTS; i++) {
      const result = await db.execute(
        sql`WITH gone AS (DELETE FROM ${responses} WHERE ${responses.id} IN (SELECT ${responses.id} FROM ${responses} WHERE ${responses.expiresAt} <= ${now}::timestamptz LIMIT ${DELETE_BATCH}) RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      );
      const n = Number((result as unknown as { rows: Array<{ n: number }> }).rows[0]?.n ?? 0);
      total += n;
      if (n < DELETE_BATCH) break;
    }
    return total;
  }

  async close(): Promise<void> {}
}
