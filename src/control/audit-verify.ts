import { and, asc, eq, getTableColumns, gt, lte, sql } from 'drizzle-orm';
import { entryHash, genesisHash, type AuditEntry } from './audit.js';
import { auditLog, controlState } from './store/schema.js';
import type { ControlDb } from './store/store.js';

/**
 * What is wrong with the first bad entry:
 * - `missing`: no entry has this number (removed from the middle);
 * - `changed`: its fields do not hash to its `hash` (edited, or moved to another number);
 * - `rehashed`: it hashes correctly but the next entry recorded another hash for it (edited and
 *   its hash recomputed);
 * - `unlinked`: it hashes correctly but does not carry its predecessor's hash (replaced or inserted);
 * - `truncated`: the log ends before the head recorded in control_state (removed from the end);
 * - `rewritten`: the last entry is not the recorded head (it, maybe with entries before it, was
 *   rewritten and re-chained);
 * - `beyond_head`: an entry after the recorded head, or numbered below 1 (added outside the gateway);
 * - `no_head`: control_state has no row;
 * - `anchor`: the entry's hash differs from an anchor saved earlier (the chain and its head were
 *   rewritten together: the one change the chain alone cannot reveal).
 */
export const auditProblems = ['missing', 'changed', 'rehashed', 'unlinked', 'truncated', 'rewritten', 'beyond_head', 'no_head', 'anchor'] as const;
export type AuditProblem = (typeof auditProblems)[number];

/** An entry's hash kept outside the database (from an earlier verify or export). */
export interface AuditAnchor {
  readonly seq: number;
  readonly hash: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** Entries checked and found sound (those before the first bad one). */
  readonly entries: number;
  /** The chain's head as recorded when the check began: save it elsewhere to use as an anchor later. */
  readonly head?: AuditAnchor;
  /** The first entry found changed, missing or out of place, and why. */
  readonly firstBad?: { readonly seq: number; readonly problem: AuditProblem; readonly reason: string };
}

export interface VerifyOptions {
  readonly anchors?: readonly AuditAnchor[];
}

/** Entries per query: an entry can hold two 64 KiB bodies, so a page is at most ~32 MiB. */
const PAGE = 250;

/** `SEQ:HASH` as printed by `audit verify` (the head) or found in an export line. */
export function parseAnchor(text: string): AuditAnchor | undefined {
  const m = /^([1-9]\d{0,15}):([0-9a-f]{64})$/.exec(text.trim());
  return m ? { seq: Number(m[1]), hash: m[2] as string } : undefined;
}

/**
 * Walks the chain in order, a page at a time, and reports the first entry that was edited,
 * removed, reordered, inserted or appended outside the gateway. The head (control_state) and the
 * highest entry number are read first, in one statement: entries a running gateway appends while
 * the walk goes on come after that head and are left to the next check, so checking a live
 * database never reports a false break. Entries are append-only, so no long transaction is held.
 */
export async function verifyAudit(db: ControlDb, options: VerifyOptions = {}): Promise<VerifyResult> {
  const [head] = await db
    .select({
      seq: controlState.auditSeq,
      hash: controlState.auditHash,
      maxSeq: sql<number>`(SELECT coalesce(max(seq), 0) FROM ${auditLog})`.mapWith(Number),
      minSeq: sql<number>`(SELECT coalesce(min(seq), 1) FROM ${auditLog})`.mapWith(Number),
    })
    .from(controlState)
    .where(eq(controlState.id, 1));
  if (!head) return bad(0, undefined, 1, 'no_head', 'control_state has no row, so the end of the chain cannot be checked: the table was edited outside the gateway');
  const anchors = new Map((options.anchors ?? []).map((a) => [a.seq, a.hash]));
  const recorded = { seq: head.seq, hash: head.hash };
  if (head.minSeq < 1) return bad(0, recorded, head.minSeq, 'beyond_head', `entry ${head.minSeq} is numbered below 1, before the start of the chain: it was added outside the gateway`);

  let expected = 1;
  let prevHash = genesisHash;
  let lastAnchor = 0;
  const rows = walk(db, head.seq);
  let next = await rows.next();
  while (!next.done) {
    const e = next.value;
    next = await rows.next();
    if (e.seq !== expected) {
      const range = e.seq - 1 > expected ? `entries ${expected}-${e.seq - 1} are` : `entry ${expected} is`;
      return bad(expected - 1, recorded, expected, 'missing', `${range} missing (removed): the next entry is ${e.seq}`);
    }
    // Sub-millisecond digits are never written (JavaScript time is in ms), and the hash cannot see them.
    if (e.subMs || hashOf(e) !== e.hash) return bad(expected - 1, recorded, e.seq, 'changed', `entry ${e.seq} does not match its hash: it was changed (or moved from another position)`);
    if (e.prevHash !== prevHash) {
      // Both ends of the broken link hash correctly. If this entry is still carried by the next
      // one (or is the recorded head), it is as written and its predecessor was edited and re-hashed.
      const carried = next.done ? e.seq === head.seq && e.hash === head.hash : next.value.seq === e.seq + 1 && next.value.prevHash === e.hash;
      if (e.seq > 1 && carried) {
        return bad(expected - 2, recorded, e.seq - 1, 'rehashed', `entry ${e.seq - 1} was changed and its hash recomputed: entry ${e.seq} still carries the hash it had when written`);
      }
      const what = e.seq === 1 ? 'the start of the chain' : `the hash of entry ${e.seq - 1}`;
      return bad(expected - 1, recorded, e.seq, 'unlinked', `entry ${e.seq} does not carry ${what}: it was replaced or inserted`);
    }
    const anchored = anchors.get(e.seq);
    if (anchored !== undefined) {
      if (anchored !== e.hash) {
        return bad(expected - 1, recorded, e.seq, 'anchor', `entry ${e.seq} no longer has the hash saved in the anchor: an entry after ${lastAnchor === 0 ? 'the start' : `entry ${lastAnchor}`} and up to this one was rewritten, together with every entry after it and the recorded head`);
      }
      lastAnchor = e.seq;
    }
    prevHash = e.hash;
    expected += 1;
  }
  const last = expected - 1;
  if (last < head.seq) return bad(last, recorded, expected, 'truncated', `the log ends at entry ${last} but the head recorded in control_state is entry ${head.seq}: entries ${expected}-${head.seq} were removed from the end`);
  if (prevHash !== head.hash) {
    return bad(last - 1, recorded, last, 'rewritten', `entry ${last} is not the head recorded in control_state: it was changed and its hash recomputed, possibly with entries before it (an anchor saved earlier tells from where)`);
  }
  if (head.maxSeq > head.seq) return bad(last, recorded, head.seq + 1, 'beyond_head', `entry ${head.seq + 1} comes after the head recorded in control_state (entry ${head.seq}): it was added outside the gateway, or the head was moved back`);
  const lost = [...anchors.keys()].filter((s) => s > head.seq).sort((a, b) => a - b)[0];
  if (lost !== undefined) return bad(last, recorded, head.seq + 1, 'anchor', `an anchor records entry ${lost} but the chain ends at entry ${head.seq}: entries were removed from the end and the recorded head moved back`);
  return { ok: true, entries: last, head: recorded };
}

function bad(entries: number, head: AuditAnchor | undefined, seq: number, problem: AuditProblem, reason: string): VerifyResult {
  return { ok: false, entries: Math.max(0, entries), ...(head ? { head } : {}), firstBad: { seq, problem, reason } };
}

/** An entry whose fields cannot even be hashed (a timestamp of `infinity`) was changed. */
function hashOf(e: AuditEntry): string | undefined {
  try {
    return entryHash(e);
  } catch {
    return undefined;
  }
}

async function* walk(db: ControlDb, lastSeq: number): AsyncGenerator<AuditEntry & { subMs: boolean }> {
  let after = 0;
  for (;;) {
    const page = await db
      .select({ ...getTableColumns(auditLog), subMs: sql<boolean>`${auditLog.at} <> date_trunc('milliseconds', ${auditLog.at})` })
      .from(auditLog)
      .where(and(gt(auditLog.seq, after), lte(auditLog.seq, lastSeq)))
      .orderBy(asc(auditLog.seq))
      .limit(PAGE);
    yield* page;
    const tail = page.at(-1);
    if (page.length < PAGE || tail === undefined) return;
    after = tail.seq;
  }
}
