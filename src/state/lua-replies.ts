/**
 * Decoders for the replies of the gateway's Lua scripts. Redis hands a script's return value
 * back as `unknown` (an integer, or an array of them); each decoder checks the exact shape its
 * script returns and gives the typed value, or throws LuaReplyError naming the script and what
 * was wrong (never the reply itself, which could be large). A malformed reply means the script
 * and this code disagree (a bug or a foreign script under our SHA), never a Redis outage, so it
 * is not a StateUnavailableError and no failure mode hides it.
 */

export class LuaReplyError extends Error {
  constructor(script: string, problem: string) {
    super(`unexpected reply from the ${script} script: ${problem}`);
    this.name = 'LuaReplyError';
  }
}

/** One bucket's state after a consume (token-bucket-script.ts). */
export interface BucketReplyState {
  readonly remaining: number;
  readonly resetMs: number;
}

/** The token bucket script's consume reply. */
export interface BucketReply {
  readonly allowed: boolean;
  readonly retryAfterMs: number;
  /** 1-based index of the first check that rejected, 0 when none did. */
  readonly rejected: number;
  readonly impossible: boolean;
  /** One per check, in the order of the checks. */
  readonly states: readonly BucketReplyState[];
}

/**
 * `{allowed 0/1, retryAfterMs, rejected index, impossible 0/1, then remaining and resetMs per
 * check}` for a consume of `checks` checks.
 */
export function decodeBucketReply(reply: unknown, checks: number): BucketReply {
  const name = 'token bucket';
  const expected = 4 + 2 * checks;
  if (!Array.isArray(reply)) throw new LuaReplyError(name, `expected an array, got ${describe(reply)}`);
  if (reply.length !== expected) throw new LuaReplyError(name, `expected ${expected} values for ${checks} checks, got ${reply.length}`);
  const values = reply.map((v: unknown, i) => count(name, v, `value ${i + 1}`));
  const [allowed = 0, retryAfterMs = 0, rejected = 0, impossible = 0] = values;
  if (rejected > checks) throw new LuaReplyError(name, `rejected check ${rejected} of ${checks}`);
  const states: BucketReplyState[] = [];
  for (let i = 0; i < checks; i++) states.push({ remaining: values[4 + 2 * i] ?? 0, resetMs: values[5 + 2 * i] ?? 0 });
  return { allowed: flag(name, allowed, 'allowed'), retryAfterMs, rejected, impossible: flag(name, impossible, 'impossible'), states };
}

/** The concurrency acquire script: 1 when a slot was taken, 0 when all are held. */
export function decodeAcquireReply(reply: unknown): boolean {
  return flag('concurrency acquire', count('concurrency acquire', reply, 'reply'), 'reply');
}

/** A script that returns one count (the process registry's live processes, slots in flight). */
export function decodeCountReply(script: string, reply: unknown): number {
  return count(script, reply, 'reply');
}

/** A non-negative integer (Redis turns every Lua number into an integer reply). */
function count(script: string, value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new LuaReplyError(script, `${what}: expected a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

function flag(script: string, value: number, what: string): boolean {
  if (value !== 0 && value !== 1) throw new LuaReplyError(script, `${what}: expected 0 or 1, got ${value}`);
  return value === 1;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'number') return String(value);
  return `a ${typeof value}`;
}
