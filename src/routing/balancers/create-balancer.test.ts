import { describe, it, expect } from 'vitest';
import type { LoadCandidate, Strategy } from '../balancer.js';
import { DeploymentLoad } from '../deployment-load.js';
import { TargetStats } from '../target-stats.js';
import { createBalancer } from './create-balancer.js';
import { LeastLatencyBalancer } from './least-latency.js';
import { LeastLoadedBalancer } from './least-loaded.js';
import { PredictedLatencyBalancer } from './predicted-latency.js';
import { PrefixAffinityBalancer } from './prefix-affinity.js';
import { PriorityBalancer } from './priority.js';
import { RoundRobinBalancer } from './round-robin.js';
import { WeightedBalancer } from './weighted.js';

const candidates: readonly LoadCandidate[] = [
  { index: 0, weight: 1, priority: 1, latencyMs: () => 10, stats: new TargetStats(), load: new DeploymentLoad(), deploymentName: 'a' },
  { index: 1, weight: 1, priority: 0, latencyMs: () => 20, stats: new TargetStats(), load: new DeploymentLoad(), deploymentName: 'b' },
];

describe('createBalancer', () => {
  it('builds the balancer for each strategy', () => {
    expect(createBalancer('round_robin')).toBeInstanceOf(RoundRobinBalancer);
    expect(createBalancer('weighted')).toBeInstanceOf(WeightedBalancer);
    expect(createBalancer('least_latency')).toBeInstanceOf(LeastLatencyBalancer);
    expect(createBalancer('priority')).toBeInstanceOf(PriorityBalancer);
    expect(createBalancer('least_loaded')).toBeInstanceOf(LeastLoadedBalancer);
    expect(createBalancer('prefix_affinity')).toBeInstanceOf(PrefixAffinityBalancer);
    expect(createBalancer('predicted_latency')).toBeInstanceOf(PredictedLatencyBalancer);
  });

  it('passes the random source to the strategies that draw', () => {
    expect(createBalancer('weighted', () => 0).pick(candidates)?.index).toBe(0);
    expect(createBalancer('weighted', () => 0.99).pick(candidates)?.index).toBe(1);
    expect(createBalancer('priority', () => 0).pick(candidates)?.index).toBe(1);
    // Two idle unmeasured candidates score alike: P2C keeps its first draw.
    expect(createBalancer('least_loaded', () => 0.99).pick(candidates)?.index).toBe(1);
    expect(createBalancer('least_loaded', () => 0).pick(candidates)?.index).toBe(0);
  });

  it('returns a fresh balancer each time, so round-robin state is per alias', () => {
    const a = createBalancer('round_robin');
    const b = createBalancer('round_robin');
    expect(a.pick(candidates)?.index).toBe(0);
    expect(b.pick(candidates)?.index).toBe(0);
  });

  it('throws a RangeError for a strategy outside the union', () => {
    expect(() => createBalancer('random' as Strategy)).toThrow(RangeError);
  });
});
