import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import { ConfigError, loadConfig, type GatewayConfig } from './config/load.js';
import { drainServer, InFlightRequests } from './http/drain.js';
import { buildHttpServer } from './http/server.js';
import { RuntimeHolder } from './lifecycle/runtime-holder.js';
import type { SharedDeps } from './lifecycle/runtime.js';
import { serverSettingsChanged } from './lifecycle/reload.js';
import { fanOut, type GatewayEvents } from './observability/events.js';
import { logSubscriber } from './observability/log-events.js';
import { createLogger } from './observability/logger.js';
import { GatewayMetrics } from './observability/metrics.js';
import type { ConcurrencyLimiter } from './ratelimit/concurrency.js';
import type { RateLimiter } from './ratelimit/limiter.js';
import type { Strategy } from './routing/balancer.js';
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
  /** Concurrency slots instead of the state backend's (cluster workers: the primary's). */
  readonly concurrency?: ConcurrencyLimiter;
  /** Random source for balancers, jitter and breakers (tests make it deterministic). */
  readonly random?: () => number;
  /** What /metrics serves instead of this gateway's own registry (cluster workers: the group's). */
  readonly metricsSource?: { readonly contentType: string; text(): Promise<string> };
}

export interface ListenOptions {
  readonly host?: string;
  readonly port?: number;
}

/** How a reload ended; on failure the previous config keeps serving. */
export type ReloadResult =
  | { readonly ok: true; readonly version: number; readonly added: readonly string[]; readonly removed: readonly string[]; readonly rebuilt: readonly string[] }
  | { readonly ok: false; readonly version: number; readonly error: Error };

export interface Gateway {
  /** Starts serving; resolves with the bound address (port 0 picks a free port). */
  listen(options?: ListenOptions): Promise<{ host: string; port: number; url: string }>;
  /**
   * Graceful drain (D-01): readiness fails at once; after `server.drainDelayMs` the listener
   * stops; in-flight requests and streams get until `server.shutdownGraceMs` (from the call),
   * then are ended with a `shutting_down` error; then upstream pools close. Idempotent.
   */
  shutdown(): Promise<void>;
  /** `shutdown()` without the readiness delay: for tests and embedding. Idempotent. */
  close(): Promise<void>;
  /**
   * Hot reload (D-03): compiles `config` and swaps it in whole; requests in flight finish on the
   * config they started with. Never throws: a config that fails to compile is reported and the
   * old one kept. `server.*` settings other than the drain timings need a restart.
   */
  reload(config: GatewayConfig): ReloadResult;
  /**
   * Reads, validates and resolves (environment included) a config file, then `reload`s it. A
   * config with errors is rejected with every issue logged, and the old one keeps serving.
   */
  reloadFromFile(path: string, env?: NodeJS.ProcessEnv): Promise<ReloadResult>;
  /** The config version now serving (1 at start, +1 per successful reload). */
  readonly configVersion: number;
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
  // The state backend (memory or Redis) lives for the whole process: a reload keeps it, and
  // changes under `state` need a restart.
  const state = createSharedState(config.state, { clock, events, deployments: Object.keys(config.deployments) });
  const shared: SharedDeps = {
    clock,
    events,
    pools,
    rateLimiter: options.rateLimiter ?? state.limiter,
    concurrency: options.concurrency ?? state.concurrency,
    cooldowns: state.cooldowns,
    ...(options.routerStrategy ? { routerStrategy: options.routerStrategy } : {}),
    ...(options.random ? { random: options.random } : {}),
  };
  const holder = new RuntimeHolder(config, shared);
  events.configReloaded({ result: 'success', initial: true, version: 1, atMs: clock.wallMs(), added: Object.keys(config.deployments), removed: [], rebuilt: [], issues: [] });
  const inFlight = new InFlightRequests();
  let ready = true;
  const app = buildHttpServer({
    limits: { ...config.server, stallTimeoutMs: config.timeouts.idleMs },
    clock,
    runtime: () => holder.current,
    acquire: () => holder.acquire(),
    inFlight,
    metrics: options.metricsSource ?? metrics,
    isReady: () => ready,
    startedAtSeconds: Math.floor(clock.wallMs() / 1000),
    onInternalError: (err, requestId) => logger.error({ err, requestId }, 'unhandled error'),
  });

  let stopping: Promise<void> | undefined;
  const stop = (delayMs: number): Promise<void> =>
    (stopping ??= (async () => {
      ready = false;
      const { server } = holder.current.config;
      logger.info({ drainDelayMs: delayMs, shutdownGraceMs: server.shutdownGraceMs, inFlight: inFlight.size }, 'draining: readiness off');
      if (app.server.listening) {
        await drainServer(app.server, inFlight, {
          delayMs,
          graceMs: server.shutdownGraceMs,
          onPhase: (phase, fields) => logger.info(fields, `draining: ${phase}`),
        });
      }
      await app.close();
      await holder.settled();
      await pools.close();
      await state.close();
    })());

  const rejected = (version: number, error: Error): ReloadResult => {
    const issues = error instanceof ConfigError ? error.issues : [{ path: '', message: error.message }];
    events.configReloaded({ result: 'failure', initial: false, version, atMs: clock.wallMs(), added: [], removed: [], rebuilt: [], issues });
    return { ok: false, version, error };
  };

  const gateway: Gateway = {
    metrics,
    logger,
    get configVersion() {
      return holder.current.version;
    },
    async listen(listen = {}) {
      await state.start();
      await app.listen({ host: listen.host ?? config.server.host, port: listen.port ?? config.server.port });
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return { host: address.address, port: address.port, url: `http://${host}:${address.port}` };
    },
    shutdown: () => stop(holder.current.config.server.drainDelayMs),
    close: () => stop(0),
    reload(next) {
      const previous = holder.current;
      try {
        const swap = holder.swap(next);
        state.deploymentsChanged(Object.keys(next.deployments));
        if (serverSettingsChanged(previous.config, next)) logger.warn('server settings other than drainDelayMs and shutdownGraceMs changed; they apply after a restart');
        if (next.logging.level !== logger.level) logger.level = next.logging.level;
        events.configReloaded({ result: 'success', initial: false, version: swap.runtime.version, atMs: clock.wallMs(), added: swap.added, removed: swap.removed, rebuilt: swap.rebuilt, issues: [] });
        return { ok: true, version: swap.runtime.version, added: swap.added, removed: swap.removed, rebuilt: swap.rebuilt };
      } catch (err) {
        return rejected(previous.version, err instanceof Error ? err : new Error(String(err)));
      }
    },
    async reloadFromFile(path, env = process.env) {
      let next: GatewayConfig;
      try {
        next = await loadConfig(path, env);
      } catch (err) {
        return rejected(holder.current.version, err instanceof Error ? err : new Error(String(err)));
      }
      return gateway.reload(next);
    },
  };
  return gateway;
}
