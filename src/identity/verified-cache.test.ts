import { describe, expect, it } from 'vitest';
import { VerifiedCache } from './verified-cache.js';

const entry = (expiresAtMs: number): { expiresAtMs: number } => ({ expiresAtMs });

describe('VerifiedCache', () => {
  it('never stores an entry at or past its expiry, and never returns one', () => {
    const cache = new VerifiedCache(10);
    cache.set('past', entry(1_000), 1_000);
    expect(cache.size).toBe(0);
    const live = entry(2_000);
    cache.set('live', live, 1_000);
    expect(cache.get('live', 1_999)).toBe(live);
    expect(cache.get('live', 2_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('drops the oldest entry beyond maxEntries; storing again makes an entry the newest', () => {
    const cache = new VerifiedCache(2);
    cache.set('a', entry(10_000), 0);
    cache.set('b', entry(10_000), 0);
    cache.set('a', entry(10_000), 0);
    cache.set('c', entry(10_000), 0);
    expect(['a', 'b', 'c'].map((k) => cache.get(k, 0) !== undefined)).toEqual([true, false, true]);
    expect(cache.size).toBe(2);
  });

  it('stores nothing with maxEntries 0', () => {
    const cache = new VerifiedCache(0);
    cache.set('a', entry(10_000), 0);
    expect(cache.get('a', 0)).toBeUndefined();
  });
});
