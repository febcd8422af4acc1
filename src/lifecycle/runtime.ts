import { randomUUID } from 'node:crypto';
import type { Pool } from 'undici';
import { warmTokenizer } from '../api/token-count.js';
import { Authenticator, type ControlView } from '../auth/authenticator.js';
import type { TokenVerifier } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import { compileRoutes } from '../config/compile.js';
import type { GatewayConfig } from '../config/load.js';
import type { GatewayEvents } from '../observability/events.js';
import { Admission } from '../pipeline/admission.js';
import type { Tracer } from '../observability/tracer.js';
import type { Pipeline } from '../pipeline/handle-request.js';
import type { ConcurrencyLimiter } from '../ratelimit/concurrency.js';
import type { RateLimiter } from '../ratelimit/limiter.js';
import { Executor } from '../resilience/execute.js';
import { RetryBudget } from '../resilience/retry-budget.js';
import type { Strategy } from '../routing/balancer.js';
import type { Cooldowns } from '../routing/cooldowns.js';
import { Router } from '../routing/router.js';
import type { RuntimeDeployment } from '../routing/runtime-types.js';
import type { UpstreamPools } from '../upstream/pools.js';
import type { BudgetLedger } from '../spend/budget-ledger.js';
import type { SlotQueue } from '../queue/slot-queue.js';

/** What lives for the whole process and is shared by every config version. */
export interface SharedDeps {
  readonly clock: Clock;
  readonly events: GatewayEvents;
  readonly pools: UpstreamPools;
  /** Limiter state outlives reloads: a reload must not hand every tenant a fresh bucket. */
  readonly rateLimiter: RateLimiter;
  readonly concurrency: ConcurrencyLimiter;
  /** Spend budgets' counters (memory, or Redis behind its failure mode). */
  readonly budgetLedger: BudgetLedger;
  readonly cooldowns: Cooldowns;
  readonly routerStrategy?: Strategy;
  readonly random?: () => number;
  /** The control plane's live snapshot (API keys, teams, users), when it is on. */
  readonly control?: ControlView;
  /** The identity provider's token verifier, when `identity` is configured (kept across reloads: its cache and keys). */
  readonly identity?: TokenVerifier;
  /** Spans over OTLP when `tracing` is on (built once: a reload keeps it). */
  readonly tracer?: Tracer;
  /**
   * Requests waiting for a concurrency slot (kept across reloads: a waiter of the old config is
   * woken by releases of the new one's requests); without it, nobody waits for a slot.
   */
  readonly slotQueue?: SlotQueue;
}

/**
 * Everything compiled from one config version. A request takes the runtime current when it
 * arrives and finishes on it, even if a reload swaps in another meanwhile.
 */
export interface Runtime {
  readonly version: number;
  readonly config: GatewayConfig;
  readonly pipeline: Pipeline;
  readonly auth: Authenticator;
  readonly router: Router;
  readonly deployments: ReadonlyMap<string, RuntimeDeployment>;
  /** The upstream pools this runtime's deployments use. */
  readonly pools: ReadonlySet<Pool>;
}

/** How long past a request's total deadline its budget reservation is kept before it expires. */
const BUDGET_HOLD_MARGIN_MS = 60_000;

/** Compiles a config into a runtime; `previous` lets unchanged deployments carry over (see CompileDeps). Throws on a compile bug. */
export function buildRuntime(config: GatewayConfig, version: number, shared: SharedDeps, previous?: Runtime): Runtime {
  const { clock, events } = shared;
  // Providers that report no usage are counted with a tokenizer: load it now (at start, or at
  // the reload that adds the first such deployment), not on a request. Loaded once per process.
  if (Object.values(config.deployments).some((d) => d.provider === 'triton')) warmTokenizer();
  const { deployments, models } = compileRoutes(config, {
    clock,
    events,
    pools: shared.pools,
    ...(shared.routerStrategy ? { defaultStrategy: shared.routerStrategy } : {}),
    ...(shared.random ? { random: shared.random } : {}),
    ...(previous ? { previous: { config: previous.config, deployments: previous.deployments } } : {}),
  });
  const auth = new Authenticator(config.tenants, { control: shared.control, identity: shared.identity, clock });
  const router = new Router(models);
  const sameBudget = previous && previous.config.retry.budgetPercent === config.retry.budgetPercent && previous.config.retry.budgetMinConcurrent === config.retry.budgetMinConcurrent;
  // The retry budget counts active requests across versions, so it is kept while its settings are.
  const budget = sameBudget ? previous.pipeline.budget : new RetryBudget({ percent: config.retry.budgetPercent, minConcurrent: config.retry.budgetMinConcurrent });
  const pipeline: Pipeline = {
    clock,
    events,
    auth,
    router,
    admission: new Admission(shared.rateLimiter, events, {
      concurrency: shared.concurrency,
      failureMode: config.state.failureMode,
      // A reservation outlives its request's deadline by a margin, then expires (a crashed replica's).
      budgets: { ledger: shared.budgetLedger, holdMs: config.timeouts.totalMs + BUDGET_HOLD_MARGIN_MS },
      clock,
      // Off (maxWaitMs 0): no queue at all, and admission is what it was without one.
      ...(config.queue.maxWaitMs > 0 && shared.slotQueue ? { queue: { slots: shared.slotQueue, maxWaitMs: config.queue.maxWaitMs } } : {}),
    }),
    executor: new Executor({ clock, retry: config.retry, budget, events, cooldowns: shared.cooldowns, queueMaxWaitMs: config.queue.maxWaitMs, ...(config.queue.maxWaitMs > 0 ? { queueBounds: config.queue } : {}), ...(shared.random ? { random: shared.random } : {}) }),
    budget,
    timeouts: config.timeouts,
    newCompletionId: () => `chatcmpl-${randomUUID().replaceAll('-', '')}`,
    ...(shared.tracer ? { tracer: shared.tracer } : {}),
  };
  const pools = new Set<Pool>();
  for (const d of deployments.values()) pools.add(d.endpoint.pool);
  // Last, once nothing can throw: a failed compile leaves the serving settings alone.
  shared.slotQueue?.configure(config.queue);
  return { version, config, pipeline, auth, router, deployments, pools };
}
