/**
 * The BudgetLedger contract, run against the memory ledger and the Redis one (real Redis), so
 * both keep exactly the same books. Time comes from a ManualClock both ledgers are given.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { windowOf, type BudgetRule, type BudgetWindow } from './budget.js';
import type { BudgetLedger, ReserveRequest } from './budget-ledger.js';

export interface InspectableLedger extends BudgetLedger {
  counters(team: string, scope: string, window: BudgetWindow): Promise<{ spentPico: bigint; reservedPico: bigint }>;
}

const DAY_MS = 86_400_000;
/**
 * 23:59:00 UTC of tomorrow: in the near future, because Redis expires window counters at an
 * absolute time (window end + a day), so a test day in the past would vanish as it is written.
 */
export const BEFORE_MIDNIGHT = Math.floor(Date.now() / DAY_MS) * DAY_MS + 2 * DAY_MS - 60_000;

export function describeBudgetLedgerContract(name: string, make: (clock: ManualClock) => InspectableLedger): void {
  describe(name, () => {
    const team: BudgetRule = { scope: 'team:acme', period: 'daily', limitPico: 1_000n, softLimitPico: 600n };
    const key: BudgetRule = { scope: 'key:key_1', period: 'monthly', limitPico: 300n };
    const setup = () => {
      const clock = new ManualClock(0, BEFORE_MIDNIGHT - 3_600_000);
      return { clock, ledger: make(clock) };
    };
    const req = (rules: readonly BudgetRule[], amountPico: number, over: Partial<ReserveRequest> = {}): ReserveRequest => ({
      id: randomUUID(),
      team: 'acme',
      rules,
      amountPico,
      holdMs: 60_000,
      failureMode: 'open',
      ...over,
    });
    const counters = (ledger: InspectableLedger, clock: ManualClock, rule: BudgetRule) => ledger.counters('acme', rule.scope, windowOf(rule.period, clock.wallMs()));

    it('admits while spent + reserved + the reservation fits the hard limit, exactly to the limit, and refuses beyond', async () => {
      const { clock, ledger } = setup();
      const a = await ledger.reserve(req([team], 400));
      const b = await ledger.reserve(req([team], 600));
      const c = await ledger.reserve(req([team], 1));
      expect([a.allowed, b.allowed, c.allowed]).toEqual([true, true, false]);
      expect(c.rejectedIndex).toBe(0);
      expect(c.hold).toBeUndefined();
      expect(c.states[0]).toMatchObject({ spentPico: 0n, reservedPico: 1_000n });
      expect(await counters(ledger, clock, team)).toEqual({ spentPico: 0n, reservedPico: 1_000n });
    });

    it('is all or nothing over the team and key budgets', async () => {
      const { clock, ledger } = setup();
      expect((await ledger.reserve(req([team, key], 300))).allowed).toBe(true);
      const refused = await ledger.reserve(req([team, key], 1));
      expect(refused.allowed).toBe(false);
      expect(refused.rejectedIndex).toBe(1);
      // The team budget had room, but took nothing.
      expect(await counters(ledger, clock, team)).toEqual({ spentPico: 0n, reservedPico: 300n });
      expect(await counters(ledger, clock, key)).toEqual({ spentPico: 0n, reservedPico: 300n });
    });

    it('settle moves the reservation into spent as the actual cost, once; settle(0) releases', async () => {
      const { clock, ledger } = setup();
      const a = await ledger.reserve(req([team, key], 200));
      const b = await ledger.reserve(req([team, key], 100));
      await a.hold?.settle(150);
      await a.hold?.settle(150);
      await b.hold?.settle(0);
      expect(await counters(ledger, clock, team)).toEqual({ spentPico: 150n, reservedPico: 0n });
      expect(await counters(ledger, clock, key)).toEqual({ spentPico: 150n, reservedPico: 0n });
      // The room came back: 850 fits the team, not the key (300 − 150).
      expect((await ledger.reserve(req([team], 850))).allowed).toBe(true);
      expect((await ledger.reserve(req([key], 151))).allowed).toBe(false);
    });

    it('a settle above the reservation is charged in full (spend may pass the limit; later requests are refused)', async () => {
      const { clock, ledger } = setup();
      const a = await ledger.reserve(req([team], 900));
      await a.hold?.settle(1_100);
      expect(await counters(ledger, clock, team)).toEqual({ spentPico: 1_100n, reservedPico: 0n });
      expect((await ledger.reserve(req([team], 1))).allowed).toBe(false);
      // Spend above the limit refuses even a zero-cost reservation (admission sends none: unpriced).
      expect((await ledger.reserve(req([team], 0))).allowed).toBe(false);
    });

    it('reports a soft-limit crossing to exactly the settle that crosses it', async () => {
      const { ledger } = setup();
      const holds = await Promise.all([1, 2, 3, 4].map(() => ledger.reserve(req([team, { ...key, limitPico: 1_000n }], 250))));
      expect(holds.every((h) => h.allowed)).toBe(true);
      const crossings = [];
      for (const h of holds) crossings.push((await h.hold?.settle(250))?.map((c) => [c.rule.scope, c.spentPico]));
      // The team's soft limit (600) is crossed by the third settle (750); the key has none.
      expect(crossings).toEqual([[], [], [['team:acme', 750n]], []]);
    });

    it('drops a reservation that is never settled once its hold has passed (a crashed replica)', async () => {
      const { clock, ledger } = setup();
      await ledger.reserve(req([team], 700, { holdMs: 10_000 }));
      expect((await ledger.reserve(req([team], 400))).allowed).toBe(false);
      clock.advance(10_001);
      const after = await ledger.reserve(req([team], 400));
      expect(after.allowed).toBe(true);
      expect(await counters(ledger, clock, team)).toEqual({ spentPico: 0n, reservedPico: 400n });
    });

    it('a late settle of an expired reservation still charges its cost, without taking it from reserved twice', async () => {
      const { clock, ledger } = setup();
      const a = await ledger.reserve(req([team], 300, { holdMs: 1_000 }));
      clock.advance(1_001);
      await ledger.reserve(req([team], 100));
      await a.hold?.settle(250);
      expect(await counters(ledger, clock, team)).toEqual({ spentPico: 250n, reservedPico: 100n });
    });

    it('rolls over at UTC midnight: a new day starts empty; a request admitted before midnight settles in its own day', async () => {
      const { clock, ledger } = setup();
      clock.advance(BEFORE_MIDNIGHT - clock.wallMs());
      const spent = await ledger.reserve(req([team], 1_000));
      await spent.hold?.settle(1_000);
      const straddling = await ledger.reserve(req([team], 0));
      expect((await ledger.reserve(req([team], 1))).allowed).toBe(false);
      const yesterday = windowOf('daily', clock.wallMs());
      clock.advance(60_000); // 00:00:00 UTC
      expect(windowOf('daily', clock.wallMs()).id).not.toBe(yesterday.id);
      const today = await ledger.reserve(req([team], 1_000));
      expect(today.allowed).toBe(true);
      await straddling.hold?.settle(5);
      expect(await ledger.counters('acme', team.scope, yesterday)).toEqual({ spentPico: 1_005n, reservedPico: 0n });
      expect(await counters(ledger, clock, team)).toEqual({ spentPico: 0n, reservedPico: 1_000n });
    });

    it('counts beyond 2^53 picodollars exactly (budgets above $9,007)', async () => {
      const { clock, ledger } = setup();
      const big: BudgetRule = { scope: 'team:acme', period: 'lifetime', limitPico: 20_000_000_000_000_001n, softLimitPico: 18_000_000_000_000_000n };
      const amount = 9_000_000_000_000_001; // a safe integer
      const a = await ledger.reserve(req([big], amount));
      const b = await ledger.reserve(req([big], amount));
      expect([a.allowed, b.allowed]).toEqual([true, true]);
      expect(await counters(ledger, clock, big)).toEqual({ spentPico: 0n, reservedPico: 18_000_000_000_000_002n });
      await a.hold?.settle(amount);
      const crossed = await b.hold?.settle(amount);
      expect(crossed?.[0]?.spentPico).toBe(18_000_000_000_000_002n);
      // Room left: exactly 1,999,999,999,999,999.
      expect((await ledger.reserve(req([big], 2_000_000_000_000_000))).allowed).toBe(false);
      expect((await ledger.reserve(req([big], 1_999_999_999_999_999))).allowed).toBe(true);
    });

    it('refuses invalid amounts', async () => {
      const { ledger } = setup();
      await expect(ledger.reserve(req([team], -1))).rejects.toThrow(RangeError);
      await expect(ledger.reserve(req([team], 1.5))).rejects.toThrow(RangeError);
      const ok = await ledger.reserve(req([team], 1));
      await expect(ok.hold?.settle(Number.NaN)).rejects.toThrow(RangeError);
    });
  });
}
