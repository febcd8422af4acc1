import { describe, expect, it } from 'vitest';
import { ChunkTimings, clientDurationBuckets } from './chunk-timings.js';

describe('ChunkTimings', () => {
  it('times the first chunk, then one gap per later chunk; chunks read together are 0 apart', () => {
    const t = new ChunkTimings();
    t.arrived(100, 0); // a step with no output chunk (a comment) is no chunk
    expect(t.firstMs).toBeUndefined();
    t.arrived(150, 2); // the first chunk, and one read with it
    expect(t.firstMs).toBe(150);
    t.arrived(180, 1);
    t.arrived(1_480, 3);
    expect(t.gaps.count).toBe(1 + 1 + 3);
    expect(t.gaps.sum).toBeCloseTo(0.03 + 1.3);
    const at = (le: number) => t.gaps.counts[clientDurationBuckets.indexOf(le)];
    expect(at(0.01)).toBe(3); // the three zeros
    expect(at(0.04)).toBe(1); // 30 ms
    expect(at(1.28)).toBe(0);
    expect(at(2.56)).toBe(1); // 1.3 s
  });
});
