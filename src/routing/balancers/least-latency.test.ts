import { describe, it, expect } from 'vitest';
import type { BalancerCandidate } from '../balancer.js';
import { LeastLatencyBalancer } from './least-latency.js';

interface Mutable extends BalancerCandidate {
  latency: number | undefined;
}

function target(index: number, latency: number | undefined): Mutable {
  const candidate: Mutable = {
    index,
    weight: 1,
    priority: 0,
    latency,
    latencyMs: () => candidate.latency,
  };
  return candidate;
}

function picks(balancer: LeastLatencyBalancer, candidates: readonly Mutable[], n: number) {
  return Array.from({ length: n }, () => balancer.pick(candidates)?.index);
}

describe('LeastLatencyBalancer', () => {
  it('picks the fastest measured candidate', () => {
    const candidates = [target(0, 300), target(1, 120), target(2, 450)];
    expect(picks(new LeastLatencyBalancer(), candidates, 5)).toEqual([1, 1, 1, 1, 1]);
  });

  it('explores unmeasured candidates first, in turn, so every deployment gets measured', () => {
    const candidates = [target(0, 100), target(1, undefined), target(2, 50), target(3, undefined)];
    const balancer = new LeastLatencyBalancer();
    expect(picks(balancer, candidates, 4)).toEqual([1, 3, 1, 3]);
    const [, second, , fourth] = candidates;
    if (second === undefined || fourth === undefined) throw new Error('setup');
    second.latency = 400;
    fourth.latency = 30;
    expect(picks(balancer, candidates, 2)).toEqual([3, 3]);
  });

  it('rotates among equally fast candidates so they share load', () => {
    const candidates = [target(0, 80), target(1, 200), target(2, 80), target(3, 80)];
    expect(picks(new LeastLatencyBalancer(), candidates, 7)).toEqual([0, 2, 3, 0, 2, 3, 0]);
  });

  it('follows the latency as it changes', () => {
    const slow = target(0, 100);
    const fast = target(1, 50);
    const balancer = new LeastLatencyBalancer();
    expect(balancer.pick([slow, fast])).toBe(fast);
    fast.latency = 500;
    expect(balancer.pick([slow, fast])).toBe(slow);
  });

  it('treats a NaN latency as unmeasured and returns undefined only for no candidates', () => {
    const balancer = new LeastLatencyBalancer();
    expect(balancer.pick([target(0, 10), target(1, Number.NaN)])?.index).toBe(1);
    expect(balancer.pick([target(0, Infinity)])?.index).toBe(0);
    expect(balancer.pick([])).toBeUndefined();
  });
});
