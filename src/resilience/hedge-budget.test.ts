import { describe, expect, it } from 'vitest';
import { HEDGE_WINDOW_MS, HedgeBudget } from './hedge-budget.js';

describe('HedgeBudget', () => {
  it('allows maxPercent of the requests in the window', () => {
    const budget = new HedgeBudget(0);
    for (let i = 0; i < 200; i++) budget.requestStarted(i);
    let granted = 0;
    for (let i = 0; i < 100; i++) if (budget.tryHedge(300, 10)) granted++;
    expect(granted).toBe(20);
  });

  it('has a floor of one hedge per window, so a quiet alias can hedge', () => {
    const budget = new HedgeBudget(0);
    budget.requestStarted(0);
    expect(budget.tryHedge(0, 10)).toBe(true);
    expect(budget.tryHedge(0, 10)).toBe(false);
  });

  it('maxPercent 0 never hedges', () => {
    const budget = new HedgeBudget(0);
    for (let i = 0; i < 100; i++) budget.requestStarted(0);
    expect(budget.tryHedge(0, 0)).toBe(false);
  });

  it('forgets requests and hedges that slid out of the window', () => {
    const budget = new HedgeBudget(0);
    for (let i = 0; i < 10; i++) budget.requestStarted(0);
    expect(budget.tryHedge(0, 10)).toBe(true);
    expect(budget.tryHedge(HEDGE_WINDOW_MS - 1, 10)).toBe(false);
    // The hedge and its requests left the window: the floor allows one again.
    expect(budget.tryHedge(HEDGE_WINDOW_MS, 10)).toBe(true);
    expect(budget.tryHedge(HEDGE_WINDOW_MS, 10)).toBe(false);
  });

  it('slides by buckets: requests of the last seconds still count', () => {
    const budget = new HedgeBudget(0);
    for (let i = 0; i < 20; i++) budget.requestStarted(0);
    for (let i = 0; i < 20; i++) budget.requestStarted(5_000);
    // 40 requests in the window at 9.9 s: four hedges; at 10 s the first 20 are gone: two.
    let granted = 0;
    while (budget.tryHedge(9_900, 10)) granted++;
    expect(granted).toBe(4);
    const later = new HedgeBudget(0);
    for (let i = 0; i < 20; i++) later.requestStarted(0);
    for (let i = 0; i < 20; i++) later.requestStarted(5_000);
    granted = 0;
    while (later.tryHedge(10_000, 10)) granted++;
    expect(granted).toBe(2);
  });

  it('a long quiet spell empties the window in bounded work', () => {
    const budget = new HedgeBudget(0);
    for (let i = 0; i < 1_000; i++) budget.requestStarted(0);
    while (budget.tryHedge(0, 10));
    budget.requestStarted(1e12);
    expect(budget.tryHedge(1e12, 10)).toBe(true);
    expect(budget.tryHedge(1e12, 10)).toBe(false);
  });
});
