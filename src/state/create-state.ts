/**
 * Builds the state a gateway shares with its other replicas, from `state` in the config:
 * `memory` keeps everything in this process; `redis` keeps limits, budgets and cooldowns in
 * Redis, each limit and budget behind its failure mode (fallback-limiter.ts, concurrency.ts).
 */
import type { Clock } from '../clock.js';
import type { ResolvedState } from '../config/load.js';
import type { GatewayEvents } from '../observability/events.js';
import { FallbackConcurrencyLimiter, MemoryConcurrencyLimiter, type ConcurrencyLimiter } from '../ratelimit/concurrency.js';
import { FallbackRateLimiter } from '../ratelimit/fallback-limiter.js';
import type { RateLimiter } from '../ratelimit/limiter.js';
import { MemoryRateLimiter } from '../ratelimit/memory-limiter.js';
import { MemoryCooldowns, type Cooldowns } from '../routing/cooldowns.js';
import type { BudgetLedger } from '../spend/budget-ledger.js';
import { FallbackBudgetLedger } from '../spend/fallback-budget-ledger.js';
import { MemoryBudgetLedger } from '../spend/memory-budget-ledger.js';
import { RedisBudgetLedger } from './redis-budget-ledger.js';
import { RedisConcurrencyLimiter } from './redis-concurrency.js';
import { RedisConnection } from './redis-connection.js';
import { ProcessRegistry } from './process-registry.js';
import { RedisCooldowns } from './redis-cooldowns.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

export interface SharedState {
  readonly limiter: RateLimiter;
  readonly concurrency: ConcurrencyLimiter;
  /** Spend budgets (docs/budgets.md): exact in Redis, behind the same failure mode as limits. */
  readonly budgets: BudgetLedger;
  readonly cooldowns: Cooldowns;
  /** A reload changed the configured deployments (cooldowns are shared for exactly these). */
  deploymentsChanged(deployments: readonly string[]): void;
  /** Waits (at most the connect timeout) for the backend; the gateway serves either way. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface StateDeps {
  readonly clock: Clock;
  readonly events: GatewayEvents;
  /** Configured deployment names at start (cooldowns are shared only for these; see deploymentsChanged). */
  readonly deployments: readonly string[];
  /** `retry.maxCooldownMs`: the longest cooldown a provider's 429 can start. */
  readonly maxCooldownMs?: number;
}

export function createSharedState(state: ResolvedState, deps: StateDeps): SharedState {
  if (state.backend === 'memory' || state.redis === undefined) {
    return {
      limiter: new MemoryRateLimiter(deps.clock),
      concurrency: new MemoryConcurrencyLimiter(),
      budgets: new MemoryBudgetLedger(deps.clock),
      cooldowns: new MemoryCooldowns(deps.clock, deps.maxCooldownMs),
      deploymentsChanged: () => undefined,
      start: async () => undefined,
      close: async () => undefined,
    };
  }
  const redisConfig = state.redis;
  const connection = new RedisConnection(redisConfig, deps.clock, {
    onFailure: (reason) => deps.events.stateError({ reason }),
    onBreakerTransition: (from, to) => deps.events.stateBreakerTransition({ from, to }),
  });
  const cooldowns = new RedisCooldowns(connection, deps.clock, deps.deployments, deps.maxCooldownMs);
  // During an outage each process admits limit ÷ (processes last seen on this Redis).
  const registry = new ProcessRegistry(connection, state.expectedReplicas);
  const processes = (): number => registry.processes();
  return {
    limiter: new FallbackRateLimiter(new RedisRateLimiter(connection), { processes, local: new MemoryRateLimiter(deps.clock) }),
    concurrency: new FallbackConcurrencyLimiter(new RedisConcurrencyLimiter(connection, state.leaseMs), processes),
    budgets: new FallbackBudgetLedger(new RedisBudgetLedger(connection, { clock: deps.clock }), { processes, local: new MemoryBudgetLedger(deps.clock), clock: deps.clock }),
    cooldowns,
    deploymentsChanged: (deployments) => cooldowns.track(deployments),
    start: async () => {
      await connection.waitReady(redisConfig.connectTimeoutMs);
      await registry.start();
    },
    close: async () => {
      await registry.close();
      await cooldowns.close();
      await connection.close();
    },
  };
}
