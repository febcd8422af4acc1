import { describe, it, expect } from 'vitest';
import type { BalancerCandidate } from '../balancer.js';
import { RoundRobinBalancer } from './round-robin.js';
import { seededRandom } from '../../testing/seeded-random.js';

function targets(count: number): BalancerCandidate[] {
  return Array.from({ length: count }, (_, index) =>
    Object.freeze({ index, weight: 1, priority: 0, latencyMs: () => undefined }),
  );
}

function picks(balancer: RoundRobinBalancer, candidates: readonly BalancerCandidate[], n: number) {
  return Array.from({ length: n }, () => balancer.pick(candidates)?.index);
}

describe('RoundRobinBalancer', () => {
  it('cycles through every target in index order', () => {
    const balancer = new RoundRobinBalancer();
    expect(picks(balancer, targets(3), 7)).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });

  it('follows target index, not list position, when the list is shuffled', () => {
    const all = targets(3);
    const shuffled = Object.freeze([all[2], all[0], all[1]]) as readonly BalancerCandidate[];
    expect(picks(new RoundRobinBalancer(), shuffled, 6)).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('skips filtered targets and keeps the rest in turn', () => {
    const all = targets(4);
    const without1 = all.filter((c) => c.index !== 1);
    const balancer = new RoundRobinBalancer();
    expect(picks(balancer, all, 2)).toEqual([0, 1]);
    expect(picks(balancer, without1, 4)).toEqual([2, 3, 0, 2]);
    expect(picks(balancer, all, 3)).toEqual([3, 0, 1]);
  });

  it('stays fair among targets when a random target is filtered out on each pick', () => {
    const all = targets(4);
    const random = seededRandom(11);
    const balancer = new RoundRobinBalancer();
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) {
      const skipped = Math.floor(random() * 5); // 4 means "nothing filtered"
      const picked = balancer.pick(all.filter((c) => c.index !== skipped));
      if (picked === undefined || picked.index === skipped) throw new Error('bad pick');
      counts[picked.index] = (counts[picked.index] ?? 0) + 1;
    }
    for (const count of counts) {
      expect(count).toBeGreaterThan(4_500);
      expect(count).toBeLessThan(5_500);
    }
  });

  it('returns undefined for no candidates and does not move the cursor', () => {
    const balancer = new RoundRobinBalancer();
    expect(balancer.pick([])).toBeUndefined();
    expect(balancer.pick(targets(2))?.index).toBe(0);
  });
});
