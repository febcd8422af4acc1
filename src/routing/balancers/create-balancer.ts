import { systemClock } from '../../clock.js';
import { fanOut } from '../../observability/events.js';
import type { Balancer, BalancerContext, Strategy } from '../balancer.js';
import { CostBalancer } from './cost.js';
import { LeastLatencyBalancer } from './least-latency.js';
import { LeastLoadedBalancer } from './least-loaded.js';
import { PredictedLatencyBalancer } from './predicted-latency.js';
import { PrefixAffinityBalancer } from './prefix-affinity.js';
import { PriorityBalancer } from './priority.js';
import { RoundRobinBalancer } from './round-robin.js';
import { WeightedBalancer } from './weighted.js';

/**
 * A new balancer for `strategy` (one per model alias, since some keep state). `random`
 * (values in [0, 1), default Math.random) feeds the strategies that draw; `context` (clock,
 * events, alias) the load- and latency-aware ones (defaults: the system clock, no events).
 * Throws RangeError for a strategy outside the Strategy union (only possible from untyped
 * input).
 */
export function createBalancer(strategy: Strategy, random?: () => number, context?: Partial<BalancerContext>): Balancer {
  const ctx: BalancerContext = { clock: context?.clock ?? systemClock, events: context?.events ?? fanOut([], () => undefined), alias: context?.alias ?? '', onSloMiss: context?.onSloMiss ?? 'least_bad' };
  switch (strategy) {
    case 'round_robin':
      return new RoundRobinBalancer();
    case 'weighted':
      return new WeightedBalancer(random);
    case 'least_latency':
      return new LeastLatencyBalancer(random, ctx.clock);
    case 'priority':
      return new PriorityBalancer(random);
    case 'cost':
      return new CostBalancer(random, ctx.clock);
    case 'predicted_latency':
      return new PredictedLatencyBalancer(ctx, random);
    case 'least_loaded':
      return new LeastLoadedBalancer(random, ctx.clock);
    case 'prefix_affinity':
      return new PrefixAffinityBalancer(random, ctx.clock);
    default: {
      const unknown: never = strategy;
      throw new RangeError(`unknown balancing strategy: ${String(unknown)}`);
    }
  }
}
