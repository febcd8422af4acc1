import type { LoadCandidate } from '../routing/balancer.js';
import { DeploymentLoad } from '../routing/deployment-load.js';
import { TargetStats } from '../routing/target-stats.js';

/** A balancer candidate for unit tests, with real stats and load its test can feed. */
export interface TestCandidate extends LoadCandidate {
  readonly stats: TargetStats;
  readonly load: DeploymentLoad;
}

/** A candidate named `deploymentName` (default `d<index>`), unmeasured and idle. */
export function loadCandidate(index: number, extra: { deploymentName?: string; weight?: number; priority?: number } & Partial<Pick<LoadCandidate, 'price' | 'contextWindow'>> = {}): TestCandidate {
  const stats = new TargetStats();
  return {
    index,
    weight: extra.weight ?? 1,
    priority: extra.priority ?? 0,
    price: extra.price,
    contextWindow: extra.contextWindow,
    latencyMs: () => stats.ttftMs,
    stats,
    load: new DeploymentLoad(),
    deploymentName: extra.deploymentName ?? `d${index}`,
  };
}

/** Records a successful stream on `c` that ended at `endMs` with a first token after `ttftMs`. */
export function observeTtft(c: TestCandidate, ttftMs: number, endMs: number): TestCandidate {
  c.stats.observe({ endMs, outcome: 'success', stream: true, durationMs: ttftMs, ttftMs });
  return c;
}
