import { describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/seeded-random.js';
import { OnlineLinear } from './online-linear.js';

describe('OnlineLinear', () => {
  it('recovers known weights from noise-free samples', () => {
    const truth = [5, -2, 0.5, 3];
    const random = seededRandom(1);
    const m = new OnlineLinear(4, 1);
    for (let i = 0; i < 200; i++) {
      const x = [1, random() * 10, random() * 100, random()];
      m.learn(x, truth.reduce((s, w, j) => s + w * x[j]!, 0));
    }
    m.weights().forEach((w, j) => expect(w).toBeCloseTo(truth[j]!, 3));
    expect(m.samples).toBe(200);
  });

  it('forgets: with λ < 1 it follows a change of the system', () => {
    const random = seededRandom(2);
    const m = new OnlineLinear(2, 0.95);
    for (let i = 0; i < 300; i++) {
      const x = [1, random() * 10];
      m.learn(x, 10 + 2 * x[1]!);
    }
    for (let i = 0; i < 300; i++) {
      const x = [1, random() * 10];
      m.learn(x, 40 + 5 * x[1]!);
    }
    expect(m.weights()[0]).toBeCloseTo(40, 2);
    expect(m.weights()[1]).toBeCloseTo(5, 2);
  });

  it('stays finite on degenerate input: zeros, one repeated direction, an outlier and non-finite values', () => {
    const m = new OnlineLinear(3, 0.9);
    for (let i = 0; i < 5_000; i++) m.learn([0, 0, 0], 1);
    // The same x thousands of times: P grows without bound in the unexcited directions (wind-up) unless capped.
    for (let i = 0; i < 5_000; i++) m.learn([1, 0, 0], 7);
    m.learn([1, 1e4, 0], 1e6);
    m.learn([Number.NaN, 1, 1], 5);
    m.learn([1, 1, 1], Number.POSITIVE_INFINITY);
    m.learn([1, Number.NEGATIVE_INFINITY, 1], 5);
    for (const w of m.weights()) expect(Number.isFinite(w)).toBe(true);
    // Still learns afterwards.
    const random = seededRandom(3);
    for (let i = 0; i < 500; i++) {
      const x = [1, random(), random()];
      m.learn(x, 3 + 4 * x[1]! - x[2]!);
    }
    expect(m.predict([1, 0.5, 0.5])).toBeCloseTo(4.5, 2);
  });

  it('rejects a feature count or forgetting factor out of range', () => {
    expect(() => new OnlineLinear(0)).toThrow(RangeError);
    expect(() => new OnlineLinear(17)).toThrow(RangeError);
    expect(() => new OnlineLinear(2, 0)).toThrow(RangeError);
    expect(() => new OnlineLinear(2, 1.5)).toThrow(RangeError);
  });
});
