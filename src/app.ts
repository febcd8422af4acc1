import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { warmTokenizer } from './api/token-count.js';
import { Authenticator } from './auth/authenticator.js';
import { systemClock, type Clock } from './clock.js';
import { compileRoutes } from './config/compile.js';
import type { GatewayConfig } from './config/load.js';
import { buildHttpServer } from './http/server.js';
import { fanOut, type GatewayEvents } from './observability/events.js';
import { logSubscriber } from './observability/log-events.js';
import { createLogger } from './observability/logger.js';
import { GatewayMetrics } from './observability/metrics.js';
import { Admission } from './pipeline/admission.js';
import type { Pipeline } from './pipeline/handle-request.js';
import type { RateLimiter } from './ratelimit/limiter.js';
import { Executor } from './resilience/execute.js';
import { RetryBudget } from './resilience/retry-budget.js';
import type { Strategy } from './routing/balancer.js';
import { Router } from './routing/router.js';
import { createSharedState } from './state/create-state.js';
import { UpstreamPools } from './upstream/pools.js';
import { version } from './version.js';

export interface GatewayOptions {
  /** Default balancing strategy for aliases that set none (overrides `routing.strategy`). */
  readonly routerStrategy?: Strategy;
  /** Extra event subscribers (the demo uses one to narrate). */
  readonly eventSinks?: ReadonlyArray<Partial<GatewayEvents>>;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly rateLimiter?: RateLimiter;
  /** Random source for balancers, jitter and breakers (tests make it deterministic). */
  readonly random?: () => number;
}

export interface ListenOptions {
  readonly host?: string;
  readonly port?: number;
}

export interface Gateway {
  /** Starts serving; resolves with the bound address (port 0 picks a free port). */
  listen(options?: ListenOptions): Promise<{ host: string; port: number; url: string }>;
  /** Stops accepting connections, waits for in-flight requests, closes upstream pools. */
  close(): Promise<void>;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
}

/** The composition root: builds every runtime object from a loaded config. No logic lives here. */
export function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Gateway {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logging.level, format: config.logging.format });
  const metrics = new GatewayMetrics({ version, deployments: Object.keys(config.deployments) });
  const events = fanOut([metrics, logSubscriber(logger), ...(options.eventSinks ?? [])], (err) => logger.error({ err }, 'event subscriber failed'));
  const pools = new UpstreamPools();
  const { models } = compileRoutes(config, {
    clock,
    events,
    pools,
    ...(options.routerStrategy ? { defaultStrategy: options.routerStrategy } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  // Providers that report no usage are counted with a tokenizer: load it now, not on a request.
  if (Object.values(config.deployments).some((d) => d.provider === 'triton')) warmTokenizer();
  const state = createSharedState(config.state, { clock, events, deployments: Object.keys(config.deployments) });
  const auth = new Authenticator(config.tenants);
  const router = new Router(models);
  const budget = new RetryBudget({ percent: config.retry.budgetPercent, minConcurrent: config.retry.budgetMinConcurrent });
  const pipeline: Pipeline = {
    clock,
    events,
    auth,
    router,
    admission: new Admission(options.rateLimiter ?? state.limiter, events, { concurrency: state.concurrency, failureMode: config.state.failureMode }),
    executor: new Executor({ clock, retry: config.retry, budget, events, cooldowns: state.cooldowns, ...(options.random ? { random: options.random } : {}) }),
    budget,
    timeouts: config.timeouts,
    newCompletionId: () => `chatcmpl-${randomUUID().replaceAll('-', '')}`,
  };
  let ready = true;
  const app = buildHttpServer({
    limits: { ...config.server, stallTimeoutMs: config.timeouts.idleMs },
    clock,
    pipeline,
    auth,
    router,
    metrics,
    isReady: () => ready,
    startedAtSeconds: Math.floor(clock.wallMs() / 1000),
    onInternalError: (err, requestId) => logger.error({ err, requestId }, 'unhandled error'),
  });

  return {
    metrics,
    logger,
    async listen(listen = {}) {
      await state.start();
      await app.listen({ host: listen.host ?? config.server.host, port: listen.port ?? config.server.port });
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return { host: address.address, port: address.port, url: `http://${host}:${address.port}` };
    },
    async close() {
      ready = false;
      await app.close();
      await pools.close();
      await state.close();
    },
  };
}
