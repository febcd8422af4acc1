/**
 * Attack on the money path (issue 12): money.ts claims one request's cost is always a safe
 * integer ("at most a few hundred dollars"), and the ledgers check it (validateActual,
 * validateReserve). But a configured price may be anything up to $9·10⁹/M, and saneUsage believes
 * up to 10 M tokens: at $2,000/M a broken or hostile upstream reporting 9 M completion tokens (a
 * figure saneUsage accepts) costs 1.8·10¹⁶ pUSD > 2⁵³. The settle then threw a RangeError inside the
 * hold, BudgetGate.settle swallowed it, and the request's spend was never counted while its
 * reservation stayed held until expiry. A request whose worst case is above 2⁵³ (n × max_tokens at
 * such a price) made reserve throw a RangeError: a 500 instead of a budget decision.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { ManualClock } from '../../src/clock.js';
import { fanOut } from '../../src/observability/events.js';
import { Admission } from '../../src/pipeline/admission.js';
import { worstCaseOf } from '../../src/pipeline/budget-admission.js';
import { saneUsage } from '../../src/pipeline/sane-usage.js';
import { MemoryRateLimiter } from '../../src/ratelimit/memory-limiter.js';
import { createBalancer } from '../../src/routing/balancers/create-balancer.js';
import type { RuntimeModel, RuntimeTarget } from '../../src/routing/runtime-types.js';
import { budgetRules, windowOf } from '../../src/spend/budget.js';
import { MemoryBudgetLedger } from '../../src/spend/memory-budget-ledger.js';
import { costOf, priceFromPerMillion } from '../../src/spend/price.js';
import { GatewayError } from '../../src/errors/gateway-error.js';

const NOW = Date.parse('2026-12-05T18:00:00Z');
// A price the config accepts (docs/configuration.md: any non-negative amount, 6 decimals).
const pricey = priceFromPerMillion({ input: 2000, output: 2000 });

function model(): RuntimeModel {
  const target = { alias: 'pricey', index: 0, weight: 1, priority: 0, latencyMs: () => undefined, price: pricey, priceSource: 'config' } as unknown as RuntimeTarget;
  return { alias: 'pricey', targets: [target], balancer: createBalancer('round_robin'), fallbacks: [], fallbackOnUnsupportedParameter: false, defaultOutputReserve: 100, ownedBy: 'test' };
}

function setup() {
  const clock = new ManualClock(0, NOW);
  const ledger = new MemoryBudgetLedger(clock);
  const events = fanOut([{}], (err) => {
    throw err;
  });
  const admission = new Admission(new MemoryRateLimiter(clock), events, { budgets: { ledger, holdMs: 60_000 }, clock });
  const principal: Principal = { tenant: 'acme', keyId: 'key_1', mayUse: () => true, limitsFor: () => undefined, budgets: budgetRules('team:acme', [{ period: 'daily', limitUsd: '100000' }]) };
  const counters = () => ledger.counters('acme', 'team:acme', windowOf('daily', clock.wallMs()));
  return { admission, principal, counters };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('attack: costs above 2^53 picodollars', () => {
  // Failed before the fix: the RangeError in settle was swallowed, spend 0, reservation held.
  it('a believable-but-huge usage report is still charged, and the reservation is released', async () => {
    const { admission, principal, counters } = setup();
    const reserved = { promptTokens: 10, outputTokens: 90 };
    const ticket = await admission.admit(principal, model(), reserved);
    expect((await counters()).reservedPico).toBeGreaterThan(0n);
    const reported = { promptTokens: 10, completionTokens: 9_000_000, cachedTokens: 0, reasoningTokens: 0, estimated: false };
    const usage = saneUsage(reported, reserved);
    expect(usage).toBe(reported); // believed: under the 10 M cap
    const cost = costOf(usage, pricey);
    ticket.settle(usage, cost);
    await flush();
    const after = await counters();
    // Never silently zero: the spend is counted, and nothing is left held.
    expect(after.reservedPico).toBe(0n);
    expect(after.spentPico).toBeGreaterThan(100_000n * 1_000_000_000_000n / 100n);
  });

  // Failed before the fix: validateReserve threw a RangeError (a 500 on the request path).
  it('a worst case above 2^53 is a budget decision, not a RangeError (500)', async () => {
    const { admission, principal } = setup();
    // 8 choices × 1 M max_tokens, which parse accepts.
    const tokens = { promptTokens: 10, outputTokens: 8_000_000 };
    // $16,000 before the cap at 2⁵³ − 1 pUSD.
    expect(worstCaseOf(model(), tokens)).toBe(Number.MAX_SAFE_INTEGER);
    const err = await admission.admit(principal, model(), tokens).then(
      () => undefined,
      (e: unknown) => e,
    );
    // $16,000 could be spent; a $100,000 budget has room: admitted, or refused as a budget — never a RangeError.
    expect(err === undefined || (err instanceof GatewayError && err.code === 'budget_exceeded')).toBe(true);
  });
});
