/**
 * The BudgetLedger on Redis: the memory ledger's semantics, one atomic Lua script per reserve
 * and per settle (budget-script.ts), so every replica counts against the same spend and no
 * replica admits on a figure another has not seen.
 *
 * Redis keys: `<prefix>bg:{<team>}<scope>|<window id>` per budget window (a hash {s, r}),
 * `<prefix>bg:{<team>}holds` and `…holdv` for the team's reservations. A window's hash expires
 * WINDOW_GRACE_MS after the window ends; lifetime counters never expire.
 */
import { systemClock, type Clock } from '../clock.js';
import { windowOf, type BudgetWindow } from '../spend/budget.js';
import { settleOnce, validateActual, validateReserve, type BudgetLedger, type BudgetState, type ReserveRequest, type ReserveResult, type SoftCrossing } from '../spend/budget-ledger.js';
import { WINDOW_GRACE_MS } from '../spend/memory-budget-ledger.js';
import { LuaReplyError } from './lua-replies.js';
import { luaScript, type RedisCommands } from './redis-commands.js';
import { StateUnavailableError } from './state-errors.js';
import { budgetLua } from './budget-script.js';

const script = luaScript(budgetLua);
const readScript = luaScript(`return redis.call('HMGET', KEYS[1], 's', 'r')`);

export interface RedisBudgetLedgerOptions {
  /**
   * The clock that picks budget windows (always this process's wall clock) and, in tests only,
   * the "now" of reservation expiry too (`useClockForExpiry`); production expiry reads Redis
   * `TIME`, so replicas' clock skew cannot expire another's reservation early.
   */
  readonly clock?: Clock;
  readonly useClockForExpiry?: boolean;
  /** Overrides the connection's key prefix (tests isolate themselves on one connection). */
  readonly keyPrefix?: string;
}

export class RedisBudgetLedger implements BudgetLedger {
  readonly #redis: RedisCommands;
  readonly #clock: Clock;
  readonly #clockExpiry: boolean;
  readonly #prefix: string;

  constructor(redis: RedisCommands, options: RedisBudgetLedgerOptions = {}) {
    this.#redis = redis;
    this.#clock = options.clock ?? systemClock;
    this.#clockExpiry = options.useClockForExpiry === true;
    this.#prefix = options.keyPrefix ?? redis.keyPrefix;
  }

  /** Rejects with StateUnavailableError when Redis does not answer in time. */
  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    validateReserve(request);
    const wall = this.#clock.wallMs();
    const counters = request.rules.map((rule) => ({ rule, window: windowOf(rule.period, wall) }));
    const keys = [...this.#holdKeys(request.team), ...counters.map((c) => this.counterKey(request.team, c.rule.scope, c.window))];
    const args: (string | number)[] = ['reserve', this.#now(), request.id, request.amountPico, request.holdMs];
    for (const c of counters) args.push(c.rule.limitPico?.toString() ?? '', expireAt(c.window));
    let reply: unknown;
    try {
      reply = await this.#redis.evalScript(script, keys, args);
    } catch (err) {
      // Timed out but may still run: a reservation granted late holds money for nobody. Give it
      // back at once (settle 0) rather than wait for its expiry.
      if (err instanceof StateUnavailableError) {
        void err.late?.then((late) => {
          if (grantedLate(late, counters.length)) void this.#settle(request.team, request.id, counters, 0n).catch(() => undefined);
        });
      }
      throw err;
    }
    const decoded = decodeReserve(reply, counters.length);
    const states: BudgetState[] = counters.map((c, i) => ({ ...c, spentPico: decoded.states[i]?.spent ?? 0n, reservedPico: decoded.states[i]?.reserved ?? 0n }));
    const hold = decoded.allowed
      ? settleOnce(async (actual) => {
          validateActual(actual);
          try {
            return await this.#settle(request.team, request.id, counters, BigInt(actual));
          } catch {
            // Unreachable now: the reservation expires on its own (docs/budgets.md, failure modes).
            return [];
          }
        })
      : undefined;
    return { allowed: decoded.allowed, rejectedIndex: decoded.allowed ? undefined : decoded.rejected - 1, states, hold, degraded: false };
  }

  /** The counters of one budget window (operators, tests); zero when absent. */
  async counters(team: string, scope: string, window: BudgetWindow): Promise<{ spentPico: bigint; reservedPico: bigint }> {
    const reply = await this.#redis.evalScript(readScript, [this.counterKey(team, scope, window)], []);
    const [s, r] = arrayOf(reply, 2).map((v) => (v === null ? 0n : amount(v)));
    return { spentPico: s ?? 0n, reservedPico: r ?? 0n };
  }

  counterKey(team: string, scope: string, window: BudgetWindow): string {
    return `${this.#prefix}bg:{${team}}${scope}|${window.id}`;
  }

  async #settle(team: string, id: string, counters: ReadonlyArray<{ rule: BudgetState['rule']; window: BudgetWindow }>, actual: bigint): Promise<SoftCrossing[]> {
    const keys = [...this.#holdKeys(team), ...counters.map((c) => this.counterKey(team, c.rule.scope, c.window))];
    const args: (string | number)[] = ['settle', this.#now(), id, actual.toString()];
    for (const c of counters) args.push(c.rule.softLimitPico?.toString() ?? '', expireAt(c.window));
    const decoded = decodeSettle(await this.#redis.evalScript(script, keys, args), counters.length);
    const crossings: SoftCrossing[] = [];
    counters.forEach((c, i) => {
      const s = decoded.states[i];
      if (s?.crossed) crossings.push({ rule: c.rule, window: c.window, spentPico: s.spent });
    });
    return crossings;
  }

  #holdKeys(team: string): [string, string] {
    return [`${this.#prefix}bg:{${team}}holds`, `${this.#prefix}bg:{${team}}holdv`];
  }

  #now(): string {
    return this.#clockExpiry ? String(Math.floor(this.#clock.wallMs())) : '';
  }
}

function expireAt(window: BudgetWindow): string {
  return window.endMs === undefined ? '' : String(window.endMs + WINDOW_GRACE_MS);
}

const NAME = 'budget';

function decodeReserve(reply: unknown, n: number): { allowed: boolean; rejected: number; states: Array<{ spent: bigint; reserved: bigint }> } {
  const values = arrayOf(reply, 2 + 2 * n);
  const allowed = values[0];
  const rejected = values[1];
  if ((allowed !== 0 && allowed !== 1) || typeof rejected !== 'number' || !Number.isInteger(rejected) || rejected < 0 || rejected > n) throw new LuaReplyError(NAME, 'bad reserve header');
  const states = [];
  for (let i = 0; i < n; i++) states.push({ spent: amount(values[2 + 2 * i]), reserved: amount(values[3 + 2 * i]) });
  return { allowed: allowed === 1, rejected, states };
}

function decodeSettle(reply: unknown, n: number): { held: boolean; states: Array<{ crossed: boolean; spent: bigint }> } {
  const values = arrayOf(reply, 1 + 2 * n);
  const states = [];
  for (let i = 0; i < n; i++) states.push({ crossed: values[1 + 2 * i] === 1, spent: amount(values[2 + 2 * i]) });
  return { held: values[0] === 1, states };
}

function arrayOf(reply: unknown, length: number): unknown[] {
  if (!Array.isArray(reply) || reply.length !== length) throw new LuaReplyError(NAME, `expected an array of ${length}`);
  return reply as unknown[];
}

/** A counter as the script returns it: a decimal string of a non-negative integer. */
function amount(v: unknown): bigint {
  if (typeof v !== 'string' || !/^\d{1,20}$/.test(v)) throw new LuaReplyError(NAME, 'expected a decimal amount');
  return BigInt(v);
}

function grantedLate(reply: unknown, n: number): boolean {
  try {
    return decodeReserve(reply, n).allowed;
  } catch {
    return false;
  }
}
