/**
 * Budget counters in this process: the single-replica ledger, and the local share a replica
 * uses while Redis is unavailable (fallback-budget-ledger.ts). Same contract as the Redis one.
 */
import { systemClock, type Clock } from '../clock.js';
import { windowOf, type BudgetPeriod, type BudgetWindow } from './budget.js';
import { settleOnce, validateActual, validateReserve, type BudgetLedger, type BudgetState, type ReserveRequest, type ReserveResult, type SoftCrossing } from './budget-ledger.js';

/** Counters are kept this long past their window's end: longer than any request can hold one. */
export const WINDOW_GRACE_MS = 86_400_000;

// Expired reservations dropped per decision, at most (the rest go on the next ones).
const EXPIRE_PER_CALL = 64;
const SWEEP_EVERY = 1024;

interface Counter {
  spent: bigint;
  reserved: bigint;
  /** When the counter may be forgotten (window end + grace); undefined for lifetime. */
  readonly dropAtMs: number | undefined;
}

interface Held {
  readonly amount: bigint;
  readonly keys: readonly string[];
  readonly expiresAtMs: number;
}

export class MemoryBudgetLedger implements BudgetLedger {
  readonly #clock: Clock;
  readonly #counters = new Map<string, Counter>();
  /** In insertion order, which is expiry order while holdMs stays the same. */
  readonly #holds = new Map<string, Held>();
  /** Counters already given the spend from before this process started (restore-spend.ts). */
  readonly #seeded = new Set<string>();
  #ops = 0;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    validateReserve(request);
    const now = this.#clock.wallMs();
    this.#expire(now);
    const amount = BigInt(request.amountPico);
    const targets = request.rules.map((rule) => {
      const window = windowOf(rule.period, now);
      const key = counterKey(rule.scope, window);
      return { rule, window, key, counter: this.#counter(key, window) };
    });
    const rejectedIndex = targets.findIndex(({ rule, counter }) => rule.limitPico !== undefined && counter.spent + counter.reserved + amount > rule.limitPico);
    const allowed = rejectedIndex < 0;
    if (allowed) {
      for (const t of targets) t.counter.reserved += amount;
      this.#holds.set(request.id, { amount, keys: targets.map((t) => t.key), expiresAtMs: now + request.holdMs });
    }
    const states: BudgetState[] = targets.map(({ rule, window, counter }) => ({ rule, window, spentPico: counter.spent, reservedPico: counter.reserved }));
    const hold = allowed
      ? settleOnce(async (actual) => {
          validateActual(actual);
          return this.#settle(request.id, targets, BigInt(actual));
        })
      : undefined;
    this.#sweep(now);
    return { allowed, rejectedIndex: allowed ? undefined : rejectedIndex, states, hold, degraded: false };
  }

  /**
   * Adds spend made before this process started to `scope`'s counter for `period`'s window at
   * `wallMs` (read back from the request log after a restart): once per counter, so a repeated
   * restore cannot count it twice.
   */
  seed(scope: string, period: BudgetPeriod, wallMs: number, spentPico: bigint): void {
    const window = windowOf(period, wallMs);
    const key = counterKey(scope, window);
    if (this.#seeded.has(key) || spentPico <= 0n) return;
    this.#seeded.add(key);
    this.#counter(key, window).spent += spentPico;
  }

  /** The counters of one budget window, for tests and the fallback's seeding; zero when unknown. */
  async counters(_team: string, scope: string, window: BudgetWindow): Promise<{ spentPico: bigint; reservedPico: bigint }> {
    const c = this.#counters.get(counterKey(scope, window));
    return { spentPico: c?.spent ?? 0n, reservedPico: c?.reserved ?? 0n };
  }

  /**
   * Settles reservation `id` taken on `targets` (the rules and the windows its reserve used):
   * what a hold's settle does, for a caller in another process (cluster/ipc-budgets.ts) that
   * cannot hold the hold. Like it, charges `actualPico` even when the reservation has expired.
   */
  settleById(id: string, targets: ReadonlyArray<{ rule: BudgetState['rule']; window: BudgetWindow }>, actualPico: number): SoftCrossing[] {
    validateActual(actualPico);
    return this.#settle(id, targets.map((t) => ({ ...t, key: counterKey(t.rule.scope, t.window) })), BigInt(actualPico));
  }

  /**
   * Gives reservation `id` back without charging anything, if it is still held: for a worker that
   * stopped waiting for its reserve (cluster/ipc-budgets.ts) and so will never settle it. Unknown
   * or already settled ids are ignored.
   */
  releaseById(id: string): void {
    const held = this.#holds.get(id);
    if (!held) return;
    this.#holds.delete(id);
    for (const key of held.keys) {
      const c = this.#counters.get(key);
      if (c) c.reserved -= held.amount;
    }
  }

  #settle(id: string, targets: ReadonlyArray<{ rule: BudgetState['rule']; window: BudgetWindow; key: string }>, actual: bigint): SoftCrossing[] {
    const held = this.#holds.get(id);
    this.#holds.delete(id);
    const crossings: SoftCrossing[] = [];
    for (const { rule, window, key } of targets) {
      // Recreated if it was forgotten meanwhile: spend is never dropped.
      const counter = this.#counter(key, window);
      if (held) counter.reserved -= held.amount;
      const before = counter.spent;
      counter.spent += actual;
      const soft = rule.softLimitPico;
      if (soft !== undefined && before < soft && counter.spent >= soft) crossings.push({ rule, window, spentPico: counter.spent });
    }
    return crossings;
  }

  #counter(key: string, window: BudgetWindow): Counter {
    let c = this.#counters.get(key);
    if (!c) {
      c = { spent: 0n, reserved: 0n, dropAtMs: window.endMs === undefined ? undefined : window.endMs + WINDOW_GRACE_MS };
      this.#counters.set(key, c);
    }
    return c;
  }

  /** Drops reservations past their expiry (a settle that never came), oldest first, a few per call. */
  #expire(now: number): void {
    let n = 0;
    for (const [id, held] of this.#holds) {
      if (held.expiresAtMs > now || n++ >= EXPIRE_PER_CALL) break;
      this.#holds.delete(id);
      for (const key of held.keys) {
        const c = this.#counters.get(key);
        if (c) c.reserved -= held.amount;
      }
    }
  }

  /** Forgets counters of windows long over, amortised over many calls. */
  #sweep(now: number): void {
    if (++this.#ops < SWEEP_EVERY) return;
    this.#ops = 0;
    for (const [key, c] of this.#counters) {
      if (c.dropAtMs === undefined || c.dropAtMs > now) continue;
      this.#counters.delete(key);
      this.#seeded.delete(key);
    }
  }
}

function counterKey(scope: string, window: BudgetWindow): string {
  return `${scope}|${window.id}`;
}
