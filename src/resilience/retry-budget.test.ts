import { describe, it, expect } from 'vitest';
import { resolveConfig } from '../config/load.js';
import { RetryBudget } from './retry-budget.js';
import { seededRandom } from '../testing/seeded-random.js';

// Deployments and models are the only keys without defaults.
const minimalConfig = {
  deployments: { d: { provider: 'openai', baseUrl: 'http://127.0.0.1:1/v1' } },
  models: { m: { targets: [{ deployment: 'd', model: 'up' }] } },
};

function startRequests(budget: RetryBudget, n: number): void {
  for (let i = 0; i < n; i++) budget.requestStarted();
}

function startRetries(budget: RetryBudget, attempts: number): number {
  let started = 0;
  for (let i = 0; i < attempts; i++) if (budget.tryStartRetry()) started++;
  return started;
}

describe('RetryBudget', () => {
  it('F-19: caps concurrent retries at 20% of 100 active requests', () => {
    const budget = new RetryBudget({ percent: 20, minConcurrent: 3 });
    startRequests(budget, 100);
    expect(startRetries(budget, 100)).toBe(20);
    expect(budget.activeRetries).toBe(20);
    budget.retryFinished();
    expect(budget.tryStartRetry()).toBe(true);
    expect(budget.tryStartRetry()).toBe(false);
  });

  it('F-19: allows minConcurrent retries when the percentage rounds down below it', () => {
    const budget = new RetryBudget({ percent: 20, minConcurrent: 3 });
    expect(startRetries(budget, 10)).toBe(3); // even with no active requests
    budget.retryFinished();
    budget.retryFinished();
    budget.retryFinished();
    startRequests(budget, 19); // floor(3.8) = 3
    expect(startRetries(budget, 10)).toBe(3);
    budget.requestStarted(); // 20 × 20% = 4
    expect(startRetries(budget, 10)).toBe(1);
  });

  it('F-19: shrinks the allowance as requests finish (no new retries until under it)', () => {
    const budget = new RetryBudget({ percent: 50, minConcurrent: 0 });
    startRequests(budget, 10);
    expect(startRetries(budget, 10)).toBe(5);
    for (let i = 0; i < 6; i++) budget.requestFinished(); // allowance now floor(2) = 2
    expect(budget.tryStartRetry()).toBe(false);
    budget.retryFinished();
    budget.retryFinished();
    expect(budget.tryStartRetry()).toBe(false); // 3 active, allowance 2
    budget.retryFinished();
    expect(budget.tryStartRetry()).toBe(false); // 2 active, allowance 2
    budget.retryFinished();
    expect(budget.tryStartRetry()).toBe(true);
    expect(budget.activeRetries).toBe(2);
  });

  it('F-19: never exceeds max(min, floor(active × percent / 100)) under a random schedule', () => {
    const random = seededRandom(2024);
    const budget = new RetryBudget({ percent: 20, minConcurrent: 3 });
    let requests = 0;
    let retries = 0;
    let admitted = 0;
    const mismatches: string[] = [];
    for (let step = 0; step < 50_000; step++) {
      const r = random();
      if (r < 0.3) {
        budget.requestStarted();
        requests++;
      } else if (r < 0.5 && requests > 0) {
        budget.requestFinished();
        requests--;
      } else if (r < 0.8) {
        const allowance = Math.max(3, Math.floor((requests * 20) / 100));
        const ok = budget.tryStartRetry();
        if (ok !== retries < allowance) mismatches.push(`step ${step}: ${ok}`);
        if (ok) {
          retries++;
          admitted++;
        }
      } else if (retries > 0) {
        budget.retryFinished();
        retries--;
      }
      if (budget.activeRequests !== requests || budget.activeRetries !== retries) {
        mismatches.push(`step ${step}: counters ${budget.activeRequests}/${budget.activeRetries}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(admitted).toBeGreaterThan(1_000); // the schedule really exercised admissions
  });

  it('never lets the counters go negative', () => {
    const budget = new RetryBudget({ percent: 20, minConcurrent: 1 });
    budget.requestFinished();
    budget.retryFinished();
    expect(budget.activeRequests).toBe(0);
    expect(budget.activeRetries).toBe(0);
    expect(budget.tryStartRetry()).toBe(true);
    expect(budget.tryStartRetry()).toBe(false);
  });

  it('with percent 0 and minConcurrent 0 never retries', () => {
    const budget = new RetryBudget({ percent: 0, minConcurrent: 0 });
    startRequests(budget, 1_000);
    expect(budget.tryStartRetry()).toBe(false);
  });

  it('defaults (from the config schema) to 20% with a minimum of 3 (reliability guide §4)', () => {
    const { retry } = resolveConfig(minimalConfig);
    expect({ percent: retry.budgetPercent, minConcurrent: retry.budgetMinConcurrent }).toEqual({ percent: 20, minConcurrent: 3 });
  });

  it('rejects invalid options with a RangeError', () => {
    expect(() => new RetryBudget({ percent: -1, minConcurrent: 3 })).toThrow(RangeError);
    expect(() => new RetryBudget({ percent: Number.NaN, minConcurrent: 3 })).toThrow(RangeError);
    expect(() => new RetryBudget({ percent: 20, minConcurrent: 1.5 })).toThrow(RangeError);
    expect(() => new RetryBudget({ percent: 20, minConcurrent: -1 })).toThrow(RangeError);
  });
});
