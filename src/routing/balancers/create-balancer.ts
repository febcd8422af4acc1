import type { Balancer, Strategy } from '../balancer.js';
import { CostBalancer } from './cost.js';
import { LeastLatencyBalancer } from './least-latency.js';
import { PriorityBalancer } from './priority.js';
import { RoundRobinBalancer } from './round-robin.js';
import { WeightedBalancer } from './weighted.js';

/**
 * A new balancer for `strategy` (one per model alias, since some keep state). `random`
 * (values in [0, 1), default Math.random) feeds the weighted and priority strategies.
 * Throws RangeError for a strategy outside the Strategy union (only possible from untyped
 * input).
 */
export function createBalancer(strategy: Strategy, random?: () => number): Balancer {
  switch (strategy) {
    case 'round_robin':
      return new RoundRobinBalancer();
    case 'weighted':
      return new WeightedBalancer(random);
    case 'least_latency':
      return new LeastLatencyBalancer();
    case 'priority':
      return new PriorityBalancer(random);
    case 'cost':
      return new CostBalancer();
    default: {
      const unknown: never = strategy;
      throw new RangeError(`unknown balancing strategy: ${String(unknown)}`);
    }
  }
}
