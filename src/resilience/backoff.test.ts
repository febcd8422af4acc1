import { describe, it, expect } from 'vitest';
import { resolveConfig } from '../config/load.js';
import { backoffDelayMs, backoffWindowMs } from './backoff.js';
import { seededRandom } from '../testing/seeded-random.js';

// Deployments and models are the only keys without defaults.
const minimalConfig = {
  deployments: { d: { provider: 'openai', baseUrl: 'http://127.0.0.1:1/v1' } },
  models: { m: { targets: [{ deployment: 'd', model: 'up' }] } },
};

const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };

describe('backoffDelayMs (full jitter)', () => {
  it('stays within [0, min(max, base·2^i)] over many seeded draws', () => {
    const random = seededRandom(42);
    const outOfBounds: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const retryIndex = i % 8;
      const bound = Math.min(1_000, 100 * 2 ** retryIndex);
      const delay = backoffDelayMs(policy, retryIndex, random);
      if (!(delay >= 0 && delay <= bound)) outOfBounds.push(`retry ${retryIndex}: ${delay}`);
    }
    expect(outOfBounds).toEqual([]);
  });

  it('spreads draws across the whole window (full jitter, not equal jitter)', () => {
    const random = seededRandom(7);
    const draws = Array.from({ length: 5_000 }, () => backoffDelayMs(policy, 2, random));
    // Window is [0, 400]: both ends must be visited and the mean must sit near the middle.
    expect(Math.min(...draws)).toBeLessThan(20);
    expect(Math.max(...draws)).toBeGreaterThan(380);
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(mean).toBeGreaterThan(180);
    expect(mean).toBeLessThan(220);
  });

  it('maps random() linearly onto the window', () => {
    expect(backoffDelayMs(policy, 0, () => 0)).toBe(0);
    expect(backoffDelayMs(policy, 0, () => 0.5)).toBe(50);
    expect(backoffDelayMs(policy, 1, () => 1)).toBe(200);
  });

  it('grows the window by doubling, then caps at maxDelayMs', () => {
    const windows = [0, 1, 2, 3, 4, 5, 6].map((i) => backoffWindowMs(policy, i));
    expect(windows).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('never overflows to Infinity or NaN for huge indexes', () => {
    for (const index of [1023, 1024, 5_000, 1e9, Number.MAX_VALUE, Infinity]) {
      const delay = backoffDelayMs(policy, index, () => 1);
      expect(delay).toBe(1_000);
    }
    const zeroBase = { baseDelayMs: 0, maxDelayMs: 1_000 };
    expect(backoffDelayMs(zeroBase, Infinity, () => 1)).toBe(0);
  });

  it('treats bad inputs as zero instead of producing NaN or negatives', () => {
    expect(backoffDelayMs(policy, Number.NaN, () => 1)).toBe(100);
    expect(backoffDelayMs(policy, -3, () => 1)).toBe(100);
    expect(backoffDelayMs(policy, 1, () => Number.NaN)).toBe(0);
    expect(backoffDelayMs(policy, 1, () => -0.5)).toBe(0);
    expect(backoffDelayMs(policy, 1, () => 7)).toBe(200);
    expect(backoffDelayMs({ baseDelayMs: -5, maxDelayMs: 100 }, 3, () => 1)).toBe(0);
    expect(backoffDelayMs({ baseDelayMs: Number.NaN, maxDelayMs: 100 }, 3, () => 1)).toBe(0);
  });

  it('defaults (from the config schema) to base 250 ms and cap 4 s (reliability guide §4)', () => {
    const { retry } = resolveConfig(minimalConfig);
    expect({ baseDelayMs: retry.baseDelayMs, maxDelayMs: retry.maxDelayMs }).toEqual({ baseDelayMs: 250, maxDelayMs: 4_000 });
    expect(backoffWindowMs(retry, 10)).toBe(4_000);
  });
});
