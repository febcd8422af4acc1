/**
 * The live percentiles against the exact ones: docs/admin-api.md said "within 6 %", but a bucket's
 * middle is up to 1/16 (6.25 %) from a value at its lower edge, and rounding to 0.1 ms adds up to
 * 0.05 ms (4 ms read 4.3: 7.5 %). The docs now state the bound this test checks.
 */
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/observability/live/histogram.js';

/** Nearest-rank percentile of the exact samples (what the histogram approximates). */
function exact(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

const withinBound = (approx: number, truth: number): boolean => Math.abs(approx - truth) <= truth / 16 + 0.05 + 1e-9;

describe('live percentiles', () => {
  it('are within 6.25 % + 0.05 ms of the exact value for every single latency from 1 ms to 35 min', () => {
    let worst = 0;
    for (let v = 1; v < 2 ** 21; v = v * 1.0007 + 0.013) {
      const h = new LatencyHistogram();
      h.add(v);
      const p = h.percentiles()!;
      expect(withinBound(p.p50, v), `${v} read ${p.p50}`).toBe(true);
      worst = Math.max(worst, Math.abs(p.p50 - v) / v);
    }
    // The documented 6 % was not a bound: 4 ms reads 4.3.
    const four = new LatencyHistogram();
    four.add(4);
    expect(four.percentiles()!.p50).toBe(4.3);
    expect(worst).toBeGreaterThan(0.06);
  });

  it('p50 and p95 of mixed traffic follow the exact ones', () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const h = new LatencyHistogram();
      const samples: number[] = [];
      const n = 1 + Math.floor(random() * 2_000);
      for (let i = 0; i < n; i++) {
        // Log-uniform 1 ms .. 60 s, with a slow tail.
        const v = Math.exp(random() * Math.log(60_000)) * (random() < 0.05 ? 3 : 1);
        samples.push(v);
        h.add(v);
      }
      samples.sort((a, b) => a - b);
      const p = h.percentiles()!;
      expect(withinBound(p.p50, exact(samples, 0.5))).toBe(true);
      expect(withinBound(p.p95, exact(samples, 0.95))).toBe(true);
    }
  });
});
