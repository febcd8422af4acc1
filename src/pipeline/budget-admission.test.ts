import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { ManualClock } from '../clock.js';
import { GatewayError } from '../errors/gateway-error.js';
import { fanOut, type BudgetDecisionEvent, type BudgetSoftLimitEvent } from '../observability/events.js';
import { MemoryRateLimiter } from '../ratelimit/memory-limiter.js';
import { createBalancer } from '../routing/balancers/create-balancer.js';
import type { RuntimeModel, RuntimeTarget } from '../routing/runtime-types.js';
import { budgetRules, windowOf } from '../spend/budget.js';
import { MemoryBudgetLedger } from '../spend/memory-budget-ledger.js';
import { priceFromPerMillion } from '../spend/price.js';
import { Admission } from './admission.js';
import { ceilingError, costCeiling, requireSomeTargetFits } from './cost-ceiling.js';
import { worstCaseOf } from './budget-admission.js';

// $1/M input, $2/M output: 1,000,000 and 2,000,000 pUSD per token.
const cheap = priceFromPerMillion({ input: 1, output: 2 });
// $10/M input, $30/M output.
const dear = priceFromPerMillion({ input: 10, output: 30 });

function target(alias: string, price: RuntimeTarget['price'], index = 0): RuntimeTarget {
  return { alias, index, weight: 1, priority: 0, latencyMs: () => undefined, price, priceSource: price ? 'config' : undefined } as unknown as RuntimeTarget;
}

function model(alias: string, prices: ReadonlyArray<RuntimeTarget['price']>): RuntimeModel {
  return { alias, targets: prices.map((p, i) => target(alias, p, i)), balancer: createBalancer('round_robin'), fallbacks: [], fallbackOnUnsupportedParameter: false, defaultOutputReserve: 100, ownedBy: 'test' };
}

function who(budgets: Parameters<typeof budgetRules>[1], extra: Partial<Principal> = {}): Principal {
  return { tenant: 'acme', keyId: 'key_1', mayUse: () => true, limitsFor: () => undefined, budgets: budgetRules('team:acme', budgets), ...extra };
}

// 2026-12-05T18:00:00Z: six hours before the daily window resets.
const NOW = Date.parse('2026-12-05T18:00:00Z');

function setup() {
  const clock = new ManualClock(0, NOW);
  const ledger = new MemoryBudgetLedger(clock);
  const decisions: BudgetDecisionEvent[] = [];
  const crossings: BudgetSoftLimitEvent[] = [];
  const events = fanOut([{ budgetDecision: (e) => decisions.push(e), budgetSoftLimitCrossed: (e) => crossings.push(e) }], (err) => {
    throw err;
  });
  const admission = new Admission(new MemoryRateLimiter(clock), events, { budgets: { ledger, holdMs: 60_000 }, clock });
  const counters = (scope = 'team:acme', period: 'daily' | 'lifetime' = 'daily') => ledger.counters('acme', scope, windowOf(period, clock.wallMs()));
  return { admission, ledger, decisions, crossings, counters, clock };
}

const flush = () => new Promise((r) => setImmediate(r));
// 10 prompt + 90 output tokens: $0.00001 + $0.00018 = $0.00019 at the cheap price (190,000,000 pUSD).
const tokens = { promptTokens: 10, outputTokens: 90 };
const WORST_CHEAP = 10 * 1_000_000 + 90 * 2_000_000;

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(err)}`);
  return err;
}

describe('budgets at admission', () => {
  it('reserves the dearest priced target’s worst case; unpriced targets add nothing', () => {
    expect(worstCaseOf(model('m', [cheap, undefined, dear]), tokens)).toBe(10 * 10_000_000 + 90 * 30_000_000);
    expect(worstCaseOf(model('m', [undefined]), tokens)).toBe(0);
    // Within a ceiling, the dear target is skipped and reserves nothing.
    expect(worstCaseOf(model('m', [cheap, dear]), tokens, BigInt(WORST_CHEAP))).toBe(WORST_CHEAP);
  });

  it('refuses with 429 budget_exceeded naming the budget, the figures and the reset, before any upstream call', async () => {
    const { admission, decisions } = setup();
    const p = who([{ period: 'daily', limitUsd: '0.0005' }]);
    const m = model('gpt', [cheap]);
    const a = await admission.admit(p, m, tokens);
    const b = await admission.admit(p, m, tokens);
    const err = await refusal(admission.admit(p, m, tokens));
    expect(err.code).toBe('budget_exceeded');
    expect(err.status).toBe(429);
    expect(err.type).toBe('insufficient_quota');
    expect(err.shouldRetry).toBe(false);
    expect(err.message).toBe(
      "Budget exceeded: the team 'acme' daily budget of $0.0005 has no room for this request ($0.00 spent, $0.00038 held by requests in flight, this one could cost up to $0.00019). It resets at 2026-12-06T00:00:00.000Z.",
    );
    expect(err.retryAfterMs).toBe(6 * 3_600_000);
    expect(decisions.map((d) => [d.allowed, d.rejected?.scopeType])).toEqual([
      [true, undefined],
      [true, undefined],
      [false, 'team'],
    ]);
    a.refund();
    b.refund();
  });

  it('settles the real cost, refunds what did not serve, and an unserved or unpriced request costs nothing', async () => {
    const { admission, counters } = setup();
    const p = who([{ period: 'daily', limitUsd: '1' }]);
    const m = model('gpt', [cheap]);
    const served = await admission.admit(p, m, tokens);
    const unserved = await admission.admit(p, m, tokens);
    const unpricedServed = await admission.admit(p, m, tokens);
    const fallbackOnly = await admission.admitFallback(p, model('other', [dear]), tokens);
    served.settle(undefined, 123_456);
    served.settle(undefined, 999_999_999); // once only
    unserved.settle(undefined, undefined);
    unpricedServed.settle(undefined, null);
    fallbackOnly.refund();
    await flush();
    expect(await counters()).toEqual({ spentPico: 123_456n, reservedPico: 0n });
  });

  it('does not limit unpriced models: a spent budget still admits them (and counts nothing)', async () => {
    const { admission, counters } = setup();
    const p = who([{ period: 'daily', limitUsd: '0.0002' }]);
    const t = await admission.admit(p, model('gpt', [cheap]), tokens);
    t.settle(undefined, 200_000_000);
    await flush();
    await expect(admission.admit(p, model('gpt', [cheap]), tokens)).rejects.toThrow(/Budget exceeded/);
    const free = await admission.admit(p, model('local', [undefined]), tokens);
    free.settle(undefined, null);
    await flush();
    expect(await counters()).toEqual({ spentPico: 200_000_000n, reservedPico: 0n });
  });

  it('overshoot bound: a provider that reports more tokens than reserved is charged in full, and then nothing more is admitted', async () => {
    const { admission, counters } = setup();
    const p = who([{ period: 'daily', limitUsd: '0.0004' }]);
    const m = model('gpt', [cheap]);
    // Two requests fit (2 × 190,000,000 ≤ 400,000,000). Each reports 50 prompt tokens where 10
    // were estimated: 40 × 1,000,000 pUSD more than reserved.
    const a = await admission.admit(p, m, tokens);
    const b = await admission.admit(p, m, tokens);
    const actual = 50 * 1_000_000 + 90 * 2_000_000;
    a.settle(undefined, actual);
    b.settle(undefined, actual);
    await flush();
    const { spentPico } = await counters();
    const limit = 400_000_000n;
    // Over the limit by exactly Σ (actual − reserved) of the requests in flight: the bound.
    expect(spentPico - limit).toBe(BigInt(2 * (actual - WORST_CHEAP)) - (limit - BigInt(2 * WORST_CHEAP)));
    expect(spentPico - limit).toBeLessThanOrEqual(BigInt(2 * (actual - WORST_CHEAP)));
    await expect(admission.admit(p, m, tokens)).rejects.toThrow(/Budget exceeded/);
  });

  it('announces a soft limit once, from the settle that crosses it; a key budget counts with the team’s', async () => {
    const { admission, crossings, counters } = setup();
    const p = who([{ period: 'daily', softLimitUsd: '0.0003' }], { budgets: [...budgetRules('team:acme', [{ period: 'daily', softLimitUsd: '0.0003' }]), ...budgetRules('key:key_1', [{ period: 'lifetime', limitUsd: '1' }])] });
    const m = model('gpt', [cheap]);
    for (let i = 0; i < 4; i++) {
      const t = await admission.admit(p, m, tokens);
      t.settle(undefined, 100_000_000);
      await flush();
    }
    expect(crossings).toHaveLength(1);
    expect(crossings[0]).toMatchObject({ tenant: 'acme', scope: 'team:acme', scopeType: 'team', period: 'daily', spentPico: 300_000_000n, softLimitPico: 300_000_000n, windowEnd: '2026-12-06T00:00:00.000Z' });
    expect(await counters('key:key_1', 'lifetime')).toEqual({ spentPico: 400_000_000n, reservedPico: 0n });
  });

  it('a lifetime budget has no Retry-After; a request larger than the whole budget says so', async () => {
    const { admission } = setup();
    const p = who([{ period: 'lifetime', limitUsd: '0.0001' }]);
    const err = await refusal(admission.admit(p, model('gpt', [cheap]), tokens));
    expect(err.retryAfterMs).toBeUndefined();
    expect(err.message).toContain('It is a lifetime budget and does not reset.');
    expect(err.message).toContain('more than the whole budget');
  });
});

describe('per-request cost ceiling', () => {
  it('takes the lower of the key’s ceiling and the header; refuses a malformed header', () => {
    const p = who([], { maxCostPico: 5_000_000_000n });
    expect(costCeiling(p, {})).toBe(5_000_000_000n);
    expect(costCeiling(p, { 'x-gateway-max-cost-usd': '0.001' })).toBe(1_000_000_000n);
    expect(costCeiling(p, { 'x-gateway-max-cost-usd': '1' })).toBe(5_000_000_000n);
    expect(costCeiling(who([]), {})).toBeUndefined();
    for (const bad of ['-1', 'abc', '1e3', '0.0000000000001']) {
      expect(() => costCeiling(p, { 'x-gateway-max-cost-usd': bad })).toThrow(/x-gateway-max-cost-usd/);
    }
  });

  it('refuses with a 400 giving the cheapest worst case and the ceiling when no target fits; unpriced targets always fit', () => {
    const m = model('gpt', [dear, cheap]);
    expect(() => requireSomeTargetFits(m, tokens, BigInt(WORST_CHEAP))).not.toThrow();
    const err = ceilingError(m, tokens, BigInt(WORST_CHEAP - 1));
    expect(() => requireSomeTargetFits(m, tokens, BigInt(WORST_CHEAP - 1))).toThrow(GatewayError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('cost_ceiling_exceeded');
    expect(err.message).toContain("could cost up to $0.00019 on the cheapest target of 'gpt'");
    expect(err.message).toContain('more than the ceiling of $0.000189999999');
    expect(() => requireSomeTargetFits(model('m', [dear, undefined]), tokens, 0n)).not.toThrow();
  });
});
