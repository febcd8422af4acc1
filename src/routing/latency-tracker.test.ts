import { describe, it, expect } from 'vitest';
import { LatencyTracker } from './latency-tracker.js';

describe('LatencyTracker', () => {
  it('is undefined until the first sample, which it takes as is', () => {
    const tracker = new LatencyTracker();
    expect(tracker.averageMs).toBeUndefined();
    tracker.record(200);
    expect(tracker.averageMs).toBe(200);
  });

  it('moves toward each new sample by alpha', () => {
    const tracker = new LatencyTracker(0.5);
    tracker.record(100);
    tracker.record(200);
    expect(tracker.averageMs).toBe(150);
    tracker.record(50);
    expect(tracker.averageMs).toBe(100);
  });

  it('uses alpha 0.3 by default', () => {
    const tracker = new LatencyTracker();
    tracker.record(100);
    tracker.record(200);
    expect(tracker.averageMs).toBeCloseTo(130, 10);
  });

  it('converges to a steady latency and forgets an old spike', () => {
    const tracker = new LatencyTracker(0.3);
    tracker.record(10_000);
    for (let i = 0; i < 50; i++) tracker.record(40);
    expect(tracker.averageMs).toBeCloseTo(40, 3);
  });

  it('ignores NaN, infinite and negative samples', () => {
    const tracker = new LatencyTracker(0.5);
    for (const bad of [Number.NaN, -1, Infinity, -Infinity]) tracker.record(bad);
    expect(tracker.averageMs).toBeUndefined();
    tracker.record(80);
    for (const bad of [Number.NaN, -1, Infinity]) tracker.record(bad);
    expect(tracker.averageMs).toBe(80);
    tracker.record(0);
    expect(tracker.averageMs).toBe(40);
  });

  it('rejects alpha outside (0, 1] with a RangeError', () => {
    for (const alpha of [0, -0.1, 1.01, Number.NaN]) {
      expect(() => new LatencyTracker(alpha)).toThrow(RangeError);
    }
    // alpha 1 is allowed: the average is then the latest sample.
    const latest = new LatencyTracker(1);
    latest.record(100);
    latest.record(300);
    expect(latest.averageMs).toBe(300);
  });
});
