import type { Clock } from '../clock.js';
import { openAiAdapter } from '../providers/openai/adapter.js';
import { CircuitBreaker, defaultBreakerOptions, type BreakerOptions } from '../resilience/breaker.js';
import { DeploymentLoad } from '../routing/deployment-load.js';
import type { RuntimeDeployment, RuntimeTarget } from '../routing/runtime-types.js';
import { TargetStats } from '../routing/target-stats.js';
import type { UpstreamEndpoint } from '../upstream/send.js';

/**
 * Compiled deployments and targets for the executor's unit tests: an OpenAI-protocol deployment
 * that never sends (no endpoint), a breaker without jitter, fresh load and stats.
 */
export function testDeployment(name: string, clock: Clock, breaker: Partial<BreakerOptions> = {}): RuntimeDeployment {
  return {
    name,
    provider: 'openai',
    genAiProvider: 'openai',
    adapter: openAiAdapter,
    // Never used: the tests' attempts send nothing upstream.
    endpoint: undefined as unknown as UpstreamEndpoint,
    basePath: '/v1',
    serverAddress: `${name}.example`,
    serverPort: 443,
    breaker: new CircuitBreaker({ ...defaultBreakerOptions, jitterRatio: 0, ...breaker }, clock, undefined, () => 0.5),
    load: new DeploymentLoad(),
  };
}

/** The targets of `alias` over `deployments`, priority by position (the first preferred), unpriced. */
export function testTargets(alias: string, deployments: readonly RuntimeDeployment[]): RuntimeTarget[] {
  return deployments.map((d, index) => {
    const stats = new TargetStats();
    return {
      index,
      alias,
      deployment: d,
      upstreamModel: `${alias}-upstream`,
      targetInfo: { upstreamModel: `${alias}-upstream`, basePath: d.basePath },
      weight: 1,
      priority: index,
      stats,
      load: d.load,
      deploymentName: d.name,
      latencyMs: () => stats.ttftMs,
      price: undefined,
      priceSource: undefined,
      contextWindow: undefined,
    };
  });
}
