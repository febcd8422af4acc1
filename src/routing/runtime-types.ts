import type { Price } from '../spend/price.js';
import type { ProviderName } from '../providers/registry.js';
import type { ProviderAdapter, TargetInfo } from '../providers/types.js';
import type { CircuitBreaker } from '../resilience/breaker.js';
import type { HedgeConfig } from '../config/schema.js';
import type { UpstreamEndpoint } from '../upstream/send.js';
import type { Balancer, LoadCandidate } from './balancer.js';
import type { DeploymentLoad } from './deployment-load.js';
import type { TargetStats } from './target-stats.js';

/** A configured upstream deployment, compiled: adapter, connection pool, breaker (cooldowns: routing/cooldowns.ts). */
export interface RuntimeDeployment {
  readonly name: string;
  readonly provider: ProviderName;
  /** `gen_ai.provider.name` for metrics. */
  readonly genAiProvider: string;
  readonly adapter: ProviderAdapter;
  readonly endpoint: UpstreamEndpoint;
  readonly basePath: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly breaker: CircuitBreaker;
  /** In-flight attempts, scraped server metrics, recent prompt prefixes (routing/deployment-load.ts). */
  readonly load: DeploymentLoad;
}

/** One target of a model alias: a deployment plus the model name the upstream knows. */
export interface RuntimeTarget extends LoadCandidate {
  readonly alias: string;
  readonly deployment: RuntimeDeployment;
  readonly upstreamModel: string;
  readonly targetInfo: TargetInfo;
  readonly stats: TargetStats;
  /** What this target costs: the config's `price`, else the catalogue's; undefined when unknown (cost null). */
  readonly price: Price | undefined;
  readonly priceSource: 'config' | 'catalog' | undefined;
  /** Prompt + output tokens one request may have (config, else catalogue); undefined: unknown. */
  readonly contextWindow: number | undefined;
}

/** A model alias, compiled. */
export interface RuntimeModel {
  readonly alias: string;
  readonly targets: readonly RuntimeTarget[];
  readonly balancer: Balancer;
  /** `models.<a>.hedge` (docs/routing.md); undefined: never hedged. */
  readonly hedge?: HedgeConfig | undefined;
  readonly fallbacks: readonly string[];
  /** Move on to the fallbacks when no target can express the request (schema.ts). */
  readonly fallbackOnUnsupportedParameter: boolean;
  /** The cheaper alias served instead once the team has passed a soft budget limit (`models.<a>.overBudget`). */
  readonly overBudget?: string;
  readonly defaultOutputReserve: number;
  readonly ownedBy: string;
}

/** The ordered groups to try for one request: the alias, then its fallbacks. */
export interface RoutePlan {
  readonly groups: readonly RuntimeModel[];
}
