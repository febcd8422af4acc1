import { describe, it, expect } from 'vitest';
import { ManualClock } from '../clock.js';
import { describeRateLimiterContract } from './limiter-contract.js';
import { MemoryRateLimiter } from './memory-limiter.js';

describeRateLimiterContract(
  'MemoryRateLimiter (RateLimiter contract)',
  (clock) => new MemoryRateLimiter(clock),
);

describe('MemoryRateLimiter', () => {
  it('drops buckets that have refilled to full, without changing decisions', async () => {
    const clock = new ManualClock();
    const limiter = new MemoryRateLimiter(clock);
    const spec = { capacity: 2, refillPerSecond: 1 };
    for (let i = 0; i < 2_000; i++) {
      await limiter.consume([{ key: `k${i}`, kind: 'requests', bucket: spec, cost: 1 }]);
    }
    expect(limiter.size).toBeGreaterThan(1_000);
    clock.advance(1_000); // every bucket is full again
    for (let i = 0; i < 2_000; i++) await limiter.adjust('busy', spec, 0);
    expect(limiter.size).toBeLessThanOrEqual(2);
    const d = await limiter.consume([{ key: 'k0', kind: 'requests', bucket: spec, cost: 2 }]);
    expect(d.allowed).toBe(true); // a dropped bucket comes back full, as it was
  });

  it('keeps buckets that are still refilling', async () => {
    const clock = new ManualClock();
    const limiter = new MemoryRateLimiter(clock);
    const spec = { capacity: 10, refillPerSecond: 1 };
    await limiter.consume([{ key: 'slow', kind: 'tokens', bucket: spec, cost: 10 }]);
    for (let i = 0; i < 3_000; i++) await limiter.adjust('other', spec, 0);
    const d = await limiter.consume([{ key: 'slow', kind: 'tokens', bucket: spec, cost: 1 }]);
    expect(d.allowed).toBe(false);
  });

  it('works with the system clock by default', async () => {
    const limiter = new MemoryRateLimiter();
    const spec = { capacity: 1, refillPerSecond: 0.001 };
    const first = await limiter.consume([{ key: 'k', kind: 'requests', bucket: spec, cost: 1 }]);
    const second = await limiter.consume([{ key: 'k', kind: 'requests', bucket: spec, cost: 1 }]);
    expect([first.allowed, second.allowed]).toEqual([true, false]);
  });
});
