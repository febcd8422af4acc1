import { describe, it, expect } from 'vitest';
import type { BalancerCandidate } from '../balancer.js';
import { PriorityBalancer } from './priority.js';
import { seededRandom } from '../../testing/seeded-random.js';

function target(index: number, priority: number, weight = 1): BalancerCandidate {
  return Object.freeze({ index, weight, priority, latencyMs: () => undefined });
}

describe('PriorityBalancer', () => {
  const primary = target(0, 0);
  const secondary = target(1, 1);
  const tertiary = target(2, 5);

  it('always picks the lowest priority value present', () => {
    const balancer = new PriorityBalancer(seededRandom(1));
    for (let i = 0; i < 1_000; i++) {
      expect(balancer.pick([tertiary, secondary, primary])).toBe(primary);
    }
  });

  it('falls back to the next level when the preferred target is filtered out', () => {
    const balancer = new PriorityBalancer(seededRandom(2));
    expect(balancer.pick([tertiary, secondary])).toBe(secondary);
    expect(balancer.pick([tertiary])).toBe(tertiary);
    expect(balancer.pick([])).toBeUndefined();
  });

  it('breaks ties within a level by weight (1:3)', () => {
    const balancer = new PriorityBalancer(seededRandom(3));
    const light = target(0, 0, 1);
    const heavy = target(1, 0, 3);
    let heavyCount = 0;
    let standbyCount = 0;
    for (let i = 0; i < 20_000; i++) {
      const picked = balancer.pick([light, heavy, secondary]);
      if (picked === heavy) heavyCount++;
      if (picked === secondary) standbyCount++;
    }
    expect(standbyCount).toBe(0);
    expect(Math.abs(heavyCount - 15_000)).toBeLessThan(300);
  });

  it('handles negative priorities and ranks NaN last', () => {
    const balancer = new PriorityBalancer(seededRandom(4));
    const negative = target(3, -2);
    const broken = target(4, Number.NaN);
    expect(balancer.pick([broken, primary, negative])).toBe(negative);
    expect(balancer.pick([broken, primary])).toBe(primary);
    expect(balancer.pick([broken])).toBe(broken);
  });
});
