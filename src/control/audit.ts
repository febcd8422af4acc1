import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
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
  /** When it happened, if not when it is written (security events are written in batches, later). */
  readonly at?: Date | undefined;
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
export const AUDIT_LOCK = 7_284_310_582_113_906n;

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
      at: e.at ?? at,
      actor: storableText(e.actor.id),
      actorType: storableText(e.actor.type),
      action: storableText(e.action),
      targetType: optionalText(e.targetType),
      targetId: optionalText(e.targetId),
      source: optionalText(e.source),
      requestId: optionalText(e.requestId),
      before: storableJson(e.before),
      after: storableJson(e.after),
      prevHash,
    };
    const hash = entryHash(row);
    rows.push({ ...row, hash });
    prevHash = hash;
  }
  await tx.insert(auditLog).values(rows);
  await tx.update(controlState).set({ auditSeq: seq, auditHash: prevHash });
}

/** SHA-256 over the previous hash and a canonical encoding of every field but the hash. */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = canonical([e.seq, e.at.toISOString(), e.actor, e.actorType, e.action, e.targetType, e.targetId, e.source, e.requestId, e.before, e.after]);
  return createHash('sha256').update(e.prevHash).update('\n').update(body).digest('hex');
}

/**
 * JSON with object keys sorted at every level: PostgreSQL's jsonb does not keep key order, so
 * the hash must not depend on it. Numbers are written as JavaScript writes them: jsonb keeps a
 * number's exact decimal value, which reads back as the same double, so `1e+21`, `5e-324` and
 * `-0` (written `0`) hash the same before and after the round trip.
 */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** NUL (refused by PostgreSQL text and jsonb) and unpaired UTF-16 surrogates (refused by jsonb, rewritten by the UTF-8 encoder). */
const unstorable = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A string as PostgreSQL will store and return it: characters it refuses or rewrites become
 * U+FFFD. Without this an entry could hash one string and store another (it would never verify),
 * or be refused outright, and a refused security event would block the queue behind it.
 */
export function storableText(s: string): string {
  return s.replace(unstorable, '\ufffd');
}

function optionalText(s: string | undefined): string | null {
  return s === undefined ? null : storableText(s);
}

/**
 * A value as jsonb will return it: JSON's view of it (`toJSON` applied, so a Date becomes its ISO
 * string; members that are undefined or functions dropped; NaN and Infinity null), with every
 * string and key storable. The entry is hashed over this, so the hash survives the round trip.
 */
export function storableJson(value: unknown): unknown {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return text === undefined ? null : scrub(JSON.parse(text) as unknown);
}

function scrub(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(scrub);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[storableText(k)] = scrub(v);
  return out;
}

/** An entry as the API and `audit export` show it (a JSON line each). */
export function auditEntryJson(e: AuditEntry): Record<string, unknown> {
  // A timestamp edited to one JavaScript cannot represent (`infinity`) is shown as null, not thrown on.
  return { ...e, at: Number.isNaN(e.at.getTime()) ? null : e.at.toISOString() };
}
