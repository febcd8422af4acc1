import type { Clock } from '../clock.js';
import type { GatewayEvents } from '../observability/events.js';
import { adapterFor, genAiProviderName } from '../providers/registry.js';
import { refusingRemoteMedia } from '../providers/remote-media.js';
import type { TargetInfo } from '../providers/types.js';
import { CircuitBreaker } from '../resilience/breaker.js';
import type { Strategy } from '../routing/balancer.js';
import { createBalancer } from '../routing/balancers/create-balancer.js';
import { DeploymentLoad } from '../routing/deployment-load.js';
import { TargetStats } from '../routing/target-stats.js';
import type { RuntimeDeployment, RuntimeModel, RuntimeTarget } from '../routing/runtime-types.js';
import type { UpstreamPools } from '../upstream/pools.js';
import { catalogEntry } from '../spend/catalog.js';
import { priceFromPerMillion } from '../spend/price.js';
import { credentialsFor } from './credentials-for.js';
import { deploymentFingerprint } from './fingerprint.js';
import type { GatewayConfig } from './load.js';
import { allowsRemoteMedia, servesResponsesApi } from './schema.js';

export interface CompileDeps {
  readonly clock: Clock;
  readonly events: GatewayEvents;
  readonly pools: UpstreamPools;
  /** Overrides `routing.strategy` (the note's `router_strategy`); per-alias strategies still win. */
  readonly defaultStrategy?: Strategy;
  readonly random?: () => number;
  /**
   * The runtime being replaced by a hot reload: a deployment whose settings (secrets, effective
   * timeouts and breaker settings included) are unchanged is carried over as the same object,
   * so it keeps its breaker state, cooldown and connection pool. Changed ones start fresh.
   */
  readonly previous?: { readonly config: GatewayConfig; readonly deployments: ReadonlyMap<string, RuntimeDeployment> };
}

/** Config → runtime objects: deployments with pools and breakers, aliases with balancers. */
export function compileRoutes(config: GatewayConfig, deps: CompileDeps): { deployments: Map<string, RuntimeDeployment>; models: Map<string, RuntimeModel> } {
  const deployments = new Map<string, RuntimeDeployment>();
  for (const [name, d] of Object.entries(config.deployments)) {
    const kept = deps.previous?.deployments.get(name);
    if (kept && deploymentFingerprint(deps.previous!.config, name) === deploymentFingerprint(config, name)) {
      deployments.set(name, kept);
      continue;
    }
    const url = new URL(d.baseUrl);
    const o = d.timeouts ?? {};
    const timeouts = {
      connectMs: o.connectMs ?? config.timeouts.connectMs,
      firstByteMs: o.firstByteMs ?? config.timeouts.firstByteMs,
      idleMs: o.idleMs ?? config.timeouts.idleMs,
      // The queue may wait longer for a connection than the pool-queue limit alone (docs/queueing.md).
      poolQueueMs: Math.max(o.poolQueueMs ?? config.timeouts.poolQueueMs, config.queue.maxWaitMs),
    };
    const queueOn = config.queue.maxWaitMs > 0;
    const firstContentMs = o.firstContentMs ?? config.timeouts.firstContentMs ?? timeouts.firstByteMs;
    const lane = deps.pools.get(name, url.origin, {
      connections: d.maxConnections,
      connectTimeoutMs: timeouts.connectMs,
      maxPerTenant: Math.max(1, Math.floor((d.maxConnections * d.tenantConnectionPercent) / 100)),
      // With the queue on, its bounds (never fewer waiting places than without it).
      ...(queueOn ? { maxWaiting: Math.max(config.queue.maxTotal, d.maxConnections * 4), maxWaitingPerTenant: config.queue.maxPerTenant } : {}),
    });
    const secure = url.protocol === 'https:';
    deployments.set(name, {
      name,
      provider: d.provider,
      genAiProvider: genAiProviderName(d.provider),
      adapter: allowsRemoteMedia(d) ? adapterFor(d.provider) : refusingRemoteMedia(adapterFor(d.provider), name),
      endpoint: {
        pool: lane.pool,
        gate: lane.gate,
        credentials: credentialsFor(name, d, url),
        secrets: [d.apiKey, d.aws?.accessKeyId, d.aws?.secretAccessKey, d.aws?.sessionToken].filter((s) => s !== undefined),
        firstByteTimeoutMs: timeouts.firstByteMs,
        idleTimeoutMs: timeouts.idleMs,
        firstContentTimeoutMs: firstContentMs,
        poolQueueMs: timeouts.poolQueueMs,
      },
      basePath: url.pathname.replace(/\/+$/, ''),
      serverAddress: url.hostname,
      serverPort: url.port ? Number(url.port) : secure ? 443 : 80,
      breaker: new CircuitBreaker(
        config.circuitBreaker,
        deps.clock,
        (t) => deps.events.breakerTransition({ deployment: name, from: t.from, to: t.to, reason: t.reason }),
        deps.random,
      ),
      load: new DeploymentLoad(),
    });
  }

  const models = new Map<string, RuntimeModel>();
  for (const [alias, m] of Object.entries(config.models)) {
    const targets: RuntimeTarget[] = m.targets.map((t, index) => {
      const deployment = deployments.get(t.deployment);
      if (!deployment) throw new Error(`models.${alias}.targets[${index}]: unknown deployment ${t.deployment}`);
      const stats = new TargetStats();
      const configured = t.price ? priceFromPerMillion(t.price) : undefined;
      const listed = catalogEntry(deployment.provider, config.deployments[t.deployment]!.baseUrl, t.model);
      const price = configured ?? listed?.price;
      // Never a made-up number: the target serves, its requests cost null, and operators are told.
      if (!price) deps.events.targetUnpriced({ alias, deployment: t.deployment, upstreamModel: t.model });
      return {
        index,
        alias,
        deployment,
        upstreamModel: t.model,
        targetInfo: targetInfo(t.model, deployment.basePath, config.deployments[t.deployment]?.apiVersion, t.defaultMaxTokens, servesResponsesApi(config.deployments[t.deployment]!)),
        weight: t.weight,
        priority: t.priority,
        stats,
        load: deployment.load,
        deploymentName: deployment.name,
        latencyMs: () => stats.ttftMs,
        price,
        priceSource: configured ? 'config' : price ? 'catalog' : undefined,
        contextWindow: t.contextWindow ?? listed?.contextWindow,
      };
    });
    const strategy = m.strategy ?? deps.defaultStrategy ?? config.routing.strategy;
    models.set(alias, {
      alias,
      targets,
      balancer: createBalancer(strategy, deps.random, { clock: deps.clock, events: deps.events, alias, onSloMiss: m.onSloMiss }),
      ...(m.hedge === undefined ? {} : { hedge: m.hedge }),
      fallbacks: m.fallbacks,
      fallbackOnUnsupportedParameter: m.fallbackOnUnsupportedParameter,
      ...(m.overBudget === undefined ? {} : { overBudget: m.overBudget }),
      defaultOutputReserve: m.defaultOutputReserve,
      ownedBy: m.ownedBy,
    });
  }
  return { deployments, models };
}

function targetInfo(upstreamModel: string, basePath: string, apiVersion: string | undefined, defaultMaxTokens: number | undefined, responsesApi: boolean): TargetInfo {
  return {
    upstreamModel,
    basePath,
    ...(apiVersion === undefined ? {} : { apiVersion }),
    ...(defaultMaxTokens === undefined ? {} : { defaultMaxTokens }),
    // Only set when true, so targets that translate look exactly as they did before the option.
    ...(responsesApi ? { responsesApi } : {}),
  };
}
