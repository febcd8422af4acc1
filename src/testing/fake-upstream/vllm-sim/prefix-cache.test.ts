import { describe, expect, it } from 'vitest';
import { PrefixCache } from './prefix-cache.js';

describe('vllm-sim prefix cache', () => {
  it('matches only leading blocks', () => {
    const cache = new PrefixCache(8);
    cache.unpin(cache.pin([1, 2, 3]));
    expect(cache.match([1, 2, 3, 4])).toBe(3);
    expect(cache.match([1, 9, 3])).toBe(1);
    expect(cache.match([5, 2, 3])).toBe(0);
  });

  it('evicts the least recently used free block, and a match refreshes a block', () => {
    const cache = new PrefixCache(3);
    cache.unpin(cache.pin([1]));
    cache.unpin(cache.pin([2]));
    cache.unpin(cache.pin([3]));
    expect(cache.match([1])).toBe(1);
    cache.unpin(cache.pin([4]));
    expect(cache.match([2])).toBe(0);
    expect([cache.match([1]), cache.match([3]), cache.match([4])]).toEqual([1, 1, 1]);
    expect(cache.size).toBe(3);
  });

  it('never evicts blocks of running sequences; a prompt past the room left is cached only in part', () => {
    const cache = new PrefixCache(3);
    const running = cache.pin([1, 2]);
    const other = cache.pin([7, 8, 9]);
    expect(other).toEqual([7]);
    expect(cache.match([1, 2])).toBe(2);
    cache.unpin(running);
    cache.unpin(other);
    // Shared blocks are pinned once per holder and freed when the last lets go.
    const x = cache.pin([1, 2]);
    const y = cache.pin([1, 2]);
    cache.unpin(x);
    cache.unpin(cache.pin([5, 6]));
    expect(cache.match([1, 2])).toBe(2);
    cache.unpin(y);
  });
});
