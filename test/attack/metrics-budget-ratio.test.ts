/**
 * Attack on gateway_budget_spent_ratio and LLMGatewayBudgetNearLimit: the gauge was set only at
 * an admission for the team, so once the budget's window ended (a new day or month, spend back
 * to 0) a team that sent nothing more kept last window's ratio on every replica that had seen
 * it, and the alert (≥ 0.9) kept firing for a budget that had reset. A ratio must not outlive
 * the window it was measured in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { chat, parseMetrics, startHarness, type Harness } from '../helpers/harness.js';
import { countMe as body, dearAndCheap, okDoneFake } from '../helpers/budget-gateway.js';

const KEY = 'sk-budgets-team-0123456789';
const DAY_MS = 86_400_000;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('gateway_budget_spent_ratio', () => {
  it("a team's ratio is gone once the window it was measured in has ended", async () => {
    let shiftMs = 0;
    const clock: Clock = { nowMs: () => performance.now() + shiftMs, wallMs: () => Date.now() + shiftMs };
    h = await startHarness({
      fakes: [okDoneFake],
      clock,
      config: ([fake]) => ({
        ...dearAndCheap(fake!, { overBudget: false }),
        tenants: { team: { keys: [KEY], models: ['dear', 'cheap'], budgets: [{ period: 'daily', limitUsd: '0.004' }] } },
      }),
    });
    expect((await chat(h.url, body('dear'), { key: KEY })).status).toBe(200);
    expect((await chat(h.url, body('dear'), { key: KEY })).status).toBe(200);
    const ratio = async () => parseMetrics(await h!.gateway.metrics.text()).filter((s) => s.name === 'gateway_budget_spent_ratio' && s.labels.team === 'team');
    const before = await ratio();
    expect(before).toHaveLength(1);
    expect(before[0]!.value).toBeGreaterThan(0);
    // The next day: the daily budget has reset, and the team has sent nothing since.
    shiftMs += DAY_MS;
    expect(await ratio()).toEqual([]);
    // Its next admission measures the new window.
    expect((await chat(h.url, body('dear'), { key: KEY })).status).toBe(200);
    const after = await ratio();
    expect(after).toHaveLength(1);
    expect(after[0]!.value).toBeLessThan(before[0]!.value);
  });
});
