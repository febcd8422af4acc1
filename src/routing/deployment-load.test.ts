import { describe, expect, it } from 'vitest';
import { DeploymentLoad, PREFIX_MEMORY_BLOCKS } from './deployment-load.js';

describe('DeploymentLoad', () => {
  it('counts attempts and their tokens in flight, never below zero', () => {
    const load = new DeploymentLoad();
    load.begin(100);
    load.begin(50);
    expect([load.inFlight, load.inFlightTokens]).toEqual([2, 150]);
    load.end(100);
    load.end(50);
    load.end(50);
    expect([load.inFlight, load.inFlightTokens]).toEqual([0, 0]);
  });

  it('offers a scrape only while it is younger than staleAfterMs', () => {
    const load = new DeploymentLoad();
    expect(load.fresh(0)).toBeUndefined();
    load.scraped = { atMs: 1000, waiting: 3 };
    load.staleAfterMs = 3000;
    expect(load.fresh(4000)?.waiting).toBe(3);
    expect(load.fresh(4001)).toBeUndefined();
  });

  it('matches the leading run of prefix blocks it was sent, not blocks further in', () => {
    const load = new DeploymentLoad();
    load.rememberPrefix([1, 2, 3]);
    expect(load.prefixMatch([1, 2, 3, 4])).toBe(3);
    expect(load.prefixMatch([1, 9, 3])).toBe(1);
    expect(load.prefixMatch([7, 2, 3])).toBe(0);
    expect(load.prefixMatch([])).toBe(0);
  });

  it('forgets the least recently sent blocks beyond its bound, deepest blocks of a prompt first', () => {
    const load = new DeploymentLoad();
    // One shared head sent early, then enough other prompts to fill the memory.
    load.rememberPrefix([-1, -2]);
    for (let i = 0; i < PREFIX_MEMORY_BLOCKS; i += 4) load.rememberPrefix([i, i + 1, i + 2, i + 3]);
    expect(load.prefixMatch([-1])).toBe(0);
    // The newest prompt is all there; of the oldest kept prompt, its head outlived its tail.
    const last = PREFIX_MEMORY_BLOCKS - 4;
    expect(load.prefixMatch([last, last + 1, last + 2, last + 3])).toBe(4);
    load.rememberPrefix([-5, -6]);
    expect(load.prefixMatch([0, 1, 2, 3])).toBe(2);
  });
});
