import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { StateUnavailableError } from '../state/state-errors.js';
import { windowOf, type BudgetRule } from './budget.js';
import { BudgetUnavailableError, type BudgetLedger, type ReserveRequest, type ReserveResult } from './budget-ledger.js';
import { FallbackBudgetLedger } from './fallback-budget-ledger.js';
import { MemoryBudgetLedger } from './memory-budget-ledger.js';

/** A shared ledger that answers like the memory one until `down` is set, then fails like a dead Redis. */
class SwitchableLedger implements BudgetLedger {
  down = false;
  constructor(readonly inner: MemoryBudgetLedger) {}
  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    if (this.down) throw new StateUnavailableError('connection', 2_500);
    return this.inner.reserve(request);
  }
}

const rule: BudgetRule = { scope: 'team:acme', period: 'daily', limitPico: 1_200n };
let n = 0;
const req = (amountPico: number, failureMode: 'open' | 'closed' = 'open'): ReserveRequest => ({ id: `r${n++}`, team: 'acme', rules: [rule], amountPico, holdMs: 60_000, failureMode });

function setup(processes = 3) {
  const clock = new ManualClock(0, Date.parse('2026-12-05T12:00:00Z'));
  const shared = new SwitchableLedger(new MemoryBudgetLedger(clock));
  const local = new MemoryBudgetLedger(clock);
  const ledger = new FallbackBudgetLedger(shared, { processes: () => processes, local, clock });
  return { clock, shared, local, ledger };
}

describe('FallbackBudgetLedger', () => {
  it('decides in shared state while it answers', async () => {
    const { ledger, shared, clock } = setup();
    const r = await ledger.reserve(req(500));
    expect(r).toMatchObject({ allowed: true, degraded: false });
    await r.hold?.settle(400);
    expect(await shared.inner.counters('acme', rule.scope, windowOf('daily', clock.wallMs()))).toEqual({ spentPico: 400n, reservedPico: 0n });
  });

  it('fail-open: admits on this process’s share of what shared state last said was left', async () => {
    const { ledger, shared, local, clock } = setup(3);
    // Shared state last saw 600 spent (after this reservation): 1,200 − 600 = 600 left, 200 per process.
    const first = await ledger.reserve(req(600));
    expect(first.allowed).toBe(true);
    shared.down = true;
    const a = await ledger.reserve(req(200));
    expect(a).toMatchObject({ allowed: true, degraded: true });
    // The real limit is reported, with the local figures.
    expect(a.states[0]?.rule.limitPico).toBe(1_200n);
    const b = await ledger.reserve(req(1));
    expect(b).toMatchObject({ allowed: false, degraded: true, rejectedIndex: 0 });
    // A settle of a local reservation is counted locally.
    await a.hold?.settle(150);
    expect(await local.counters('acme', rule.scope, windowOf('daily', clock.wallMs()))).toEqual({ spentPico: 150n, reservedPico: 0n });
  });

  it('fail-open for a budget never seen: limit ÷ processes', async () => {
    const { ledger, shared } = setup(4);
    shared.down = true;
    expect((await ledger.reserve(req(300))).allowed).toBe(true);
    expect((await ledger.reserve(req(1))).allowed).toBe(false);
  });

  it('fail-closed: BudgetUnavailableError with the time Redis is tried again', async () => {
    const { ledger, shared } = setup();
    shared.down = true;
    const err = await ledger.reserve(req(1, 'closed')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetUnavailableError);
    expect((err as BudgetUnavailableError).retryAfterMs).toBe(2_500);
  });
});
