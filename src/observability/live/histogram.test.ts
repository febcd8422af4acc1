import { describe, expect, it } from 'vitest';
import { BUCKET_COUNT, bucketMiddle, bucketOf, LatencyHistogram } from './histogram.js';

describe('LatencyHistogram', () => {
  it('puts every value in a bucket whose middle is within 1/16 of it', () => {
    for (const v of [1, 1.5, 3, 7.9, 10, 99, 250, 1_000, 4_321, 60_000, 1_000_000]) {
      const b = bucketOf(v);
      expect(b).toBeGreaterThan(0);
      expect(b).toBeLessThan(BUCKET_COUNT);
      expect(Math.abs(bucketMiddle(b) - v) / v).toBeLessThanOrEqual(1 / 16);
    }
  });

  it('keeps odd input in range: below 1 ms, NaN, negative, beyond the top', () => {
    expect([bucketOf(0), bucketOf(0.3), bucketOf(Number.NaN), bucketOf(-5)]).toEqual([0, 0, 0, 0]);
    expect(bucketOf(1e12)).toBe(BUCKET_COUNT - 1);
    expect(bucketOf(Infinity)).toBe(BUCKET_COUNT - 1);
  });

  it('answers p50 and p95 by nearest rank; null when empty; merges and resets', () => {
    const h = new LatencyHistogram();
    expect(h.percentiles()).toBeNull();
    for (let i = 1; i <= 100; i++) h.add(i * 10);
    const p = h.percentiles()!;
    expect(Math.abs(p.p50 - 500) / 500).toBeLessThanOrEqual(1 / 16);
    expect(Math.abs(p.p95 - 950) / 950).toBeLessThanOrEqual(1 / 16);
    const other = new LatencyHistogram();
    for (let i = 0; i < 900; i++) other.add(5_000);
    h.merge(other);
    expect(h.count).toBe(1_000);
    expect(Math.abs(h.percentiles()!.p50 - 5_000) / 5_000).toBeLessThanOrEqual(1 / 16);
    h.reset();
    expect(h.percentiles()).toBeNull();
  });
});
