import { createHash } from 'node:crypto';
import { asc, gt, sql } from 'drizzle-orm';
import { auditLog, controlState } from './store/schema.js';
import type { ControlDb } from './store/store.js';

/** Who did something: a person (by subject), an API key, the bootstrap credential, or the gateway itself. */
export interface AuditActor {
  readonly id: string;
  readonly type: 'user' | 'key' | 'bootstrap' | 'anonymous' | 'system';
}

/** One thing to record. `before`/`after` are the resource's public fields: never a secret or digest. */
export interface AuditEvent {
  readonly actor: AuditActor;
  readonly action: string;
  readonly targetType?: string | undefined;
  readonly targetId?: string | undefined;
  readonly source?: string | undefined;
  readonly requestId?: string | undefined;
  readonly before?: unknown;
  readonly after?: unknown;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: Date;
  readonly actor: string;
  readonly actorType: string;
  readonly action: string;
  readonly targetType: string | null;
  readonly targetId: string | null;
  readonly source: string | null;
  readonly requestId: string | null;
  readonly before: unknown;
  readonly after: unknown;
  readonly prevHash: string;
  readonly hash: string;
}

export const genesisHash = '0'.repeat(64);

/** The lock every writer of the chain holds until its transaction ends, so entries never interleave. */
const AUDIT_LOCK = 7_284_310_582_113_906n;

type Tx = Parameters<Parameters<ControlDb['transaction']>[0]>[0];

/**
 * Appends entries to the chain inside the caller's transaction (the change and its record
 * commit together, or neither does). Each entry's hash covers its predecessor's hash and every
 * field of its own, and the chain's head is kept in control_state.
 */
export async function appendAudit(tx: Tx, events: readonly AuditEvent[], at: Date): Promise<void> {
  if (events.length === 0) return;
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${AUDIT_LOCK.toString()}::bigint)`);
  const [head] = await tx.select({ seq: controlState.auditSeq, hash: controlState.auditHash }).from(controlState);
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? genesisHash;
  const rows = [];
  for (const e of events) {
    seq += 1;
    const row = {
      seq,
      at,
      actor: storable(e.actor.id),
      actorType: e.actor.type,
      action: storable(e.action),
      targetType: storable(e.targetType ?? null),
      targetId: storable(e.targetId ?? null),
      source: storable(e.source ?? null),
      requestId: storable(e.requestId ?? null),
      before: storable(e.before ?? null),
      after: storable(e.after ?? null),
      prevHash,
    };
    const hash = entryHash(row);
    rows.push({ ...row, hash });
    prevHash = hash;
  }
  await tx.insert(auditLog).values(rows);
  await tx.update(controlState).set({ auditSeq: seq, auditHash: prevHash });
}

const unstorable = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The value with U+0000 and unpaired surrogates replaced by U+FFFD, at any depth: PostgreSQL's
 * text and jsonb refuse them, and one entry the database refuses must not stop the log (the
 * security queue retries its batch until it is written, so it would never write again).
 */
function storable<T>(value: T): T {
  if (typeof value === 'string') return value.replace(unstorable, '\ufffd') as T;
  if (Array.isArray(value)) return value.map(storable) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storable(v)])) as T;
}

/** SHA-256 over the previous hash and a canonical encoding of every field but the hash. */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = canonical([e.seq, e.at.toISOString(), e.actor, e.actorType, e.action, e.targetType, e.targetId, e.source, e.requestId, e.before, e.after]);
  return createHash('sha256').update(e.prevHash).update('\n').update(body).digest('hex');
}

/**
 * JSON with object keys sorted at every level: PostgreSQL's jsonb does not keep key order, so
 * the hash must not depend on it.
 */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** Entries checked. */
  readonly entries: number;
  /** The first entry found changed, missing or out of place, and why. */
  readonly firstBad?: { readonly seq: number; readonly reason: string };
}

const PAGE = 1_000;

/**
 * Walks the chain in order, a page at a time: each entry must follow the previous one (seq + 1),
 * carry its hash as prev_hash, and hash to what it claims; the last must be the head recorded in
 * control_state. Reports the first entry that was edited, removed or reordered.
 */
export async function verifyAudit(db: ControlDb): Promise<VerifyResult> {
  let expectedSeq = 1;
  let prevHash = genesisHash;
  let entries = 0;
  for (;;) {
    const page = await db.select().from(auditLog).where(gt(auditLog.seq, expectedSeq - 1)).orderBy(asc(auditLog.seq)).limit(PAGE);
    for (const e of page) {
      if (e.seq !== expectedSeq) return { ok: false, entries, firstBad: { seq: expectedSeq, reason: `entry ${expectedSeq} is missing (the next entry is ${e.seq})` } };
      if (e.prevHash !== prevHash) return { ok: false, entries, firstBad: { seq: e.seq, reason: 'its prev_hash does not match the entry before it (an entry was removed, reordered or changed)' } };
      if (entryHash(e) !== e.hash) return { ok: false, entries, firstBad: { seq: e.seq, reason: 'its content does not match its hash (the entry was changed)' } };
      prevHash = e.hash;
      expectedSeq += 1;
      entries += 1;
    }
    if (page.length < PAGE) break;
  }
  const [head] = await db.select({ seq: controlState.auditSeq, hash: controlState.auditHash }).from(controlState);
  if (head && (head.seq !== expectedSeq - 1 || head.hash !== prevHash)) {
    return { ok: false, entries, firstBad: { seq: expectedSeq, reason: `the log ends at entry ${expectedSeq - 1} but the recorded head is entry ${head.seq}: entries were removed from the end` } };
  }
  return { ok: true, entries };
}
