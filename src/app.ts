import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import type { GatewayConfig } from './config/load.js';
import { OutputBudget } from './http/body-writer.js';
import { effectiveMaxConnections, openFilesSoftLimit } from './http/connection-limits.js';
import { drainServer, InFlightRequests } from './http/drain.js';
import { dataPlaneRoutes, operatorRoutes } from './http/gateway-routes.js';
import { RouteTable, type Route } from './http/routes.js';
import { createEdgeServer, type HttpDeps } from './http/server.js';
import { RuntimeHolder } from './lifecycle/runtime-holder.js';
import type { SharedDeps } from './lifecycle/runtime.js';
import { createReloader, type ReloadResult } from './lifecycle/reload.js';
import { fanOut, type GatewayEvents } from './observability/events.js';
import { LiveAggregator } from './observability/live/live-aggregator.js';
import type { RuntimeDeployment } from './routing/runtime-types.js';
import { UpstreamMetrics } from './routing/upstream-metrics.js';
import { logSubscriber } from './observability/log-events.js';
import { createLogger } from './observability/logger.js';
import { GatewayMetrics } from './observability/metrics.js';
import { createOtelTracer } from './observability/otel-tracer.js';
import type { ConcurrencyLimiter } from './ratelimit/concurrency.js';
import { SlotQueue } from './queue/slot-queue.js';
import type { RateLimiter } from './ratelimit/limiter.js';
import type { Strategy } from './routing/balancer.js';
import { DeferredVerifier } from './auth/deferred-verifier.js';
import { loadAdminApi } from './admin/load-admin.js';
import { ControlPlane } from './control/control-plane.js';
import type { RequestLedger } from './control/ledger/ledger.js';
import type { ControlDb } from './control/store/store.js';
import { emptySnapshot } from './control/snapshot.js';
import { MemoryBudgetLedger } from './spend/memory-budget-ledger.js';
import { createSharedState } from './state/create-state.js';
import { UpstreamPools } from './upstream/pools.js';
import { version } from './version.js';
import type { BudgetLedger } from './spend/budget-ledger.js';
import type { BatchEngine } from './batches/engine.js';
import type { ResponseStore } from './responses/response-store.js';
import { BudgetWebhook } from './spend/budget-webhook.js';

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
  /** Budget counters instead of the state backend's (cluster workers: the primary's). */
  readonly budgetLedger?: BudgetLedger;
  /** Random source for balancers, jitter and breakers (tests make it deterministic). */
  readonly random?: () => number;
  /** What /metrics serves instead of this gateway's own registry (cluster workers: the group's). */
  readonly metricsSource?: { readonly contentType: string; text(): Promise<string> };
  /**
   * Build everything, connect nothing (check-config): the state backend is built in memory,
   * since the Redis one connects as it is built, and `listen()` is refused. Upstream pools
   * connect only when used, so they are built as for serving.
   */
  readonly offline?: boolean;
  /** What runs batches (tests of the Batch API's own routes); by default the runner (batches/runner/load-engine.ts). */
  readonly batchEngine?: (deps: { readonly db: () => ControlDb | undefined; readonly config: GatewayConfig }) => BatchEngine;
  /** Wraps the store of /v1/responses (tests: a slow or failing one); by default the configured store as it is. */
  readonly responseStore?: (store: ResponseStore) => ResponseStore;
}

export interface ListenOptions {
  readonly host?: string;
  readonly port?: number;
}

export type { ReloadResult };

export interface Gateway {
  /**
   * Starts serving; resolves with the bound address (port 0 picks a free port) and, when
   * `server.metrics.port` is set, the operator listener's URL.
   */
  listen(options?: ListenOptions): Promise<{ host: string; port: number; url: string; metricsUrl?: string; adminUrl?: string }>;
  /**
   * Graceful drain (D-01): readiness fails at once; after `server.drainDelayMs` the listener
   * stops; in-flight requests and streams get until `server.shutdownGraceMs` (from the call),
   * then are ended with a `shutting_down` error; then upstream pools close (destroyed if still
   * busy after POOL_CLOSE_MS), so the process always exits. Idempotent.
   */
  shutdown(): Promise<void>;
  /** `shutdown()` without the readiness delay: for tests and embedding. Idempotent. */
  close(): Promise<void>;
  /**
   * Hot reload (D-03): compiles `config` and swaps it in whole; requests in flight finish on the
   * config they started with. Never throws: a config that fails to compile is reported and the
   * old one kept. Settings read once at start (`server.*` but the drain timings, `state.*` but
   * `failureMode`, `retry.maxCooldownMs`, the edge's use of `timeouts.idleMs`, `logging.format`)
   * are not applied: the result's `restartRequired` names each one changed, and a warning is logged.
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
  /**
   * The control plane's database once open (undefined without one): for in-process tools and
   * tests, since the embedded database cannot be opened a second time.
   */
  readonly controlDb: ControlDb | undefined;
}

/**
 * The process's waiters for concurrency slots: woken by releases of leases they watch, and polled
 * while anything waits for releases made elsewhere (Redis, the primary of `--workers`) or by
 * leases taken while the queue was off.
 */
function slotQueueFor(config: GatewayConfig, concurrency: ConcurrencyLimiter, events: GatewayEvents, clock: Clock): SlotQueue {
  return new SlotQueue(concurrency, { ...config.queue, observer: events, clock });
}

/** After the drain, how long upstream pools may take to close before they are destroyed. */
const POOL_CLOSE_MS = 1_000;
/** At shutdown, the longest wait for the last spans to be exported. */
const TRACE_FLUSH_MS = 5_000;

/** The composition root: builds every runtime object from a loaded config. No logic lives here. */
export function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Gateway {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logging.level, format: config.logging.format });
  const metrics = new GatewayMetrics({ version, deployments: Object.keys(config.deployments), controlPlane: config.state.database !== undefined, wallMs: () => clock.wallMs() });
  // Soft-limit alerts by webhook: a background sender fed by events, built once (a reload that
  // changes budgets.webhook needs a restart).
  const webhookConfig = config.budgets.webhook;
  const webhook = webhookConfig ? new BudgetWebhook(webhookConfig, { logger, onResult: (result) => events?.budgetWebhook({ result }) }) : undefined;
  // The request log writes what the events tell to the control plane's store (made below): both
  // are bound late, the ledger being one of the sinks that make `events`.
  let control: ControlPlane | undefined;
  let events: GatewayEvents | undefined;
  // Loaded by listen() (with the database code it needs) only when the request log is on; the
  // sink forwards to it from then, before any request can arrive.
  const requestLogOn = config.state.database !== undefined && !options.offline && config.requestLog.enabled;
  let ledger: RequestLedger | undefined;
  const ledgerSink: Partial<GatewayEvents> | undefined = requestLogOn
    ? {
        attemptFinished: (e) => ledger?.attemptFinished(e),
        retry: (e) => ledger?.retry(e),
        fallback: (e) => ledger?.fallback(e),
        requestFinished: (e) => ledger?.requestFinished(e),
      }
    : undefined;
  // The console's live numbers: kept whenever the admin API can serve them, so a console that
  // opens has the last five minutes (a few counter increments per request; bench/micro/live-aggregator.mjs).
  const live = config.admin && config.state.database && !options.offline ? new LiveAggregator({ clock }) : undefined;
  events = fanOut([metrics, logSubscriber(logger), ...(webhook ? [webhook] : []), ...(ledgerSink ? [ledgerSink] : []), ...(live ? [live] : []), ...(options.eventSinks ?? [])], (err) => logger.error({ err }, 'event subscriber failed'));
  const pools = new UpstreamPools(events);
  // Traces: the SDK is loaded here, at start, and only when tracing is on (lazy-packages.ts).
  const tracer = config.tracing.enabled && !options.offline
    ? createOtelTracer(config.tracing, {
        version,
        onDropped: (reason, spans) => events?.traceSpansDropped({ reason, spans }),
        // The error's name only (the collector's URL and headers stay out of logs).
        onExportError: (err) => logger.warn({ reason: err.message }, 'trace export failed: spans are dropped (gateway_trace_spans_dropped_total)'),
      })
    : undefined;
  // The state backend (memory or Redis) lives for the whole process: a reload keeps it, and
  // changes under `state` need a restart.
  // Everything this process settles on budgets starts after this instant (restore-on-start.ts).
  const startedWallMs = clock.wallMs();
  const state = createSharedState(options.offline ? { ...config.state, backend: 'memory' } : config.state, { clock, events, deployments: Object.keys(config.deployments), maxCooldownMs: config.retry.maxCooldownMs });
  // The control plane (API keys, teams, users, audit) and company sign-in are loaded by listen(),
  // and only when configured: a gateway without them loads neither the database drivers nor jose.
  control = config.state.database && !options.offline ? new ControlPlane(config.state.database, { clock, logger, events }) : undefined;
  const identity = config.identity ? new DeferredVerifier() : undefined;
  const shared: SharedDeps = {
    ...(control ? { control } : {}),
    ...(identity ? { identity } : {}),
    clock,
    events,
    pools,
    rateLimiter: options.rateLimiter ?? state.limiter,
    concurrency: options.concurrency ?? state.concurrency,
    budgetLedger: options.budgetLedger ?? state.budgets,
    cooldowns: state.cooldowns,
    ...(options.routerStrategy ? { routerStrategy: options.routerStrategy } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(tracer ? { tracer } : {}),
  };
  const holder = new RuntimeHolder(config, { ...shared, slotQueue: slotQueueFor(config, shared.concurrency, events, clock) });
  // Self-hosted servers' own metrics, scraped in the background from listen() until the stop.
  const upstreamMetrics = new UpstreamMetrics({ clock, events });
  metrics.readBreakersOnCollect(() => {
    for (const d of holder.current.deployments.values()) void d.breaker.state;
  });
  events.configReloaded({ result: 'success', initial: true, version: 1, atMs: clock.wallMs(), added: Object.keys(config.deployments), removed: [], rebuilt: [], issues: [], restartRequired: [] });
  const inFlight = new InFlightRequests();
  let ready = true;
  const maxConnections = effectiveMaxConnections(config.server.maxConnections, openFilesSoftLimit());
  if (maxConnections < config.server.maxConnections) {
    logger.warn({ configured: config.server.maxConnections, applied: maxConnections }, 'server.maxConnections lowered to 75% of the open-files limit (raise ulimit -n to allow more)');
  }
  const edge: HttpDeps = {
    limits: { ...config.server, maxConnections, stallTimeoutMs: config.timeouts.idleMs },
    clock,
    events,
    acquire: () => holder.acquire(),
    inFlight,
    outputBudget: new OutputBudget(config.server.maxBytesInFlight),
    metrics: options.metricsSource ?? metrics,
    // API keys are unknown until the control plane's first snapshot: not ready before it.
    readiness: () => (!ready ? 'draining' : control === undefined || control.loaded ? 'ready' : 'starting'),
    startedAtSeconds: Math.floor(clock.wallMs() / 1000),
    onInternalError: (err, requestId) => logger.error({ err, requestId }, 'internal error while handling a request'),
  };
  // /metrics on its own listener when configured (never then on the data plane), with an optional
  // bearer; the admin API likewise (`admin.port`). The listeners are built by listen(), once the
  // admin routes (loaded only when configured) are known.
  const metricsBearerToken = config.server.metrics.bearerToken?.reveal();
  const operatorPort = config.server.metrics.port;
  const adminPort = config.admin?.port;
  let server: Server | undefined;
  let operatorServer: Server | undefined;
  let adminServer: Server | undefined;
  let security: { close(): Promise<void> } | undefined;
  let liveStreams: { closeAll(): void } | undefined;
  let batchApi: { close(): Promise<void> } | undefined;
  // Stored responses of /v1/responses (loaded by listen(): the database's when the control plane is on).
  let responsesApi: { close(): Promise<void> } | undefined;
  // Runs batch items (control plane on): started once the store is open, closed before it.
  let batchEngine: BatchEngine | undefined;
  // After listen, errors are accept() failures (EMFILE/ENFILE when descriptors run out): log them
  // (at most once a second) instead of crashing on an unhandled 'error' event.
  let lastAcceptErrorMs = -Infinity;
  const edgeServer = (routes: Route[]): Server => {
    const s = createEdgeServer(edge, new RouteTable(routes));
    s.on('error', (err) => {
      if (!s.listening || clock.nowMs() - lastAcceptErrorMs < 1_000) return;
      lastAcceptErrorMs = clock.nowMs();
      logger.warn({ err }, 'accepting a connection failed');
    });
    return s;
  };

  let stopping: Promise<void> | undefined;
  const stop = (delayMs: number): Promise<void> =>
    (stopping ??= (async () => {
      ready = false;
      // Console streams never end by themselves: they end as the drain starts.
      liveStreams?.closeAll();
      live?.stop();
      await upstreamMetrics.stop();
      const { shutdownGraceMs } = holder.current.config.server;
      logger.info({ drainDelayMs: delayMs, shutdownGraceMs, inFlight: inFlight.size }, 'draining: readiness off');
      // Batch items stop being taken now; running ones get the same grace as requests, then go back to the queue.
      const batchesClosed = batchEngine?.close().catch((err: unknown) => logger.error({ err }, 'batch runner: closing failed'));
      if (server?.listening) {
        await drainServer(server, inFlight, {
          delayMs,
          graceMs: shutdownGraceMs,
          onPhase: (phase, fields) => logger.info(fields, `draining: ${phase}`),
        });
      }
      await batchesClosed;
      for (const s of [server, operatorServer, adminServer]) if (s) await closeServer(s);
      // Every request was answered or aborted by now; whatever undici still holds (a call
      // stuck behind a dead connection) must not keep the process alive: destroyed after a
      // short close. The reload cleanup is not awaited for the same reason: it closes pools.
      await pools.close(POOL_CLOSE_MS);
      await security?.close().catch(() => undefined);
      await batchEngine?.close().catch((err: unknown) => logger.error({ err }, 'batches: closing the engine failed'));
      await batchApi?.close();
      await responsesApi?.close().catch((err: unknown) => logger.error({ err }, 'responses: closing failed'));
      // Every request has ended: the last rows are written (or spooled) before the store closes.
      await ledger?.close().catch((err: unknown) => logger.error({ err }, 'request log: closing failed'));
      await control?.close();
      await webhook?.close();
      // Spans of the last requests are exported, for a bounded time: a dead collector must not hold the exit.
      await tracer?.shutdown(Math.min(config.tracing.exportTimeoutMs, TRACE_FLUSH_MS));
      await state.close();
    })());

  const reloader = createReloader({
    holder,
    events,
    clock,
    applyInPlace: (next) => {
      // Provider-429 cooldowns are shared over Redis for the deployments the serving config has.
      state.deploymentsChanged(Object.keys(next.deployments));
      if (next.logging.level !== logger.level) logger.level = next.logging.level;
      // Once listening (an offline or not yet started gateway scrapes nothing).
      if (server) upstreamMetrics.follow(next, holder.current.deployments);
    },
  });

  const gateway: Gateway = {
    metrics,
    logger,
    get configVersion() {
      return holder.current.version;
    },
    get controlDb() {
      return control?.store?.db;
    },
    async listen(listen = {}) {
      if (options.offline) throw new Error('an offline gateway (check-config) does not listen');
      await state.start();
      if (identity && config.identity) {
        const { JwtVerifier } = await import('./identity/jwt-verifier.js');
        identity.target = new JwtVerifier(config.identity.jwt, { clock });
      }
      await control?.start();
      if (requestLogOn && config.state.database) {
        const [{ RequestLedger }, { ledgerSettings }] = await Promise.all([import('./control/ledger/ledger.js'), import('./control/ledger/settings.js')]);
        ledger = new RequestLedger(ledgerSettings(config.requestLog, config.state.database.url === undefined ? config.state.database.dataDir : undefined), { clock, logger, store: () => control?.store, events: () => events });
        await ledger.start();
        void ledger.maintain();
      }
      // In-process budget counters start empty: give them the spend of the current windows
      // from before this start (a restart must not hand out a fresh budget).
      const budgets = options.budgetLedger ?? state.budgets;
      if (ledger && control && budgets instanceof MemoryBudgetLedger) {
        // A spool an earlier run left goes in first, so its costs are read back too.
        await ledger.flush();
        const { restoreBudgetsOnStart } = await import('./spend/restore-on-start.js');
        await restoreBudgetsOnStart({ ledger: budgets, store: () => control?.store, snapshot: () => control?.snapshot ?? emptySnapshot, tenants: config.tenants, wallMs: () => clock.wallMs(), logger, processStartMs: startedWallMs });
      }
      if (control) {
        const store = control;
        const db = (): ControlDb | undefined => store.store?.db;
        const { loadBatchEngine } = await import('./batches/runner/load-engine.js');
        batchEngine = options.batchEngine?.({ db, config }) ?? (await loadBatchEngine({ config, control, holder, clock, logger, metrics, ...(options.random ? { random: options.random } : {}), ...(ledger ? { flushRequestLog: () => ledger?.flush() ?? Promise.resolve() } : {}), liveRequests: () => inFlight.operations }));
        batchEngine.start();
      }
      let adminRows: Route[] = [];
      if (control && config.admin) {
        if (live) {
          live.inFlight = () => inFlightByDeployment(holder.current.deployments);
          live.start();
        }
        const admin = await loadAdminApi({ control, config, holder, identity, clock, logger, events, ...(live ? { live } : {}), cooldowns: state.cooldowns, ...(batchEngine ? { batches: batchEngine } : {}) });
        adminRows = admin.routes;
        security = admin.security;
        liveStreams = admin.live;
      }
      let batchRows: Route[] | undefined;
      if (control && batchEngine) {
        const store = control;
        const db = (): ControlDb | undefined => store.store?.db;
        const { loadBatchApi } = await import('./batches/load-batch-api.js');
        // Read at start, like the edge's limits (docs/configuration.md#batches).
        const settings = () => ({ batches: config.batches, bodyLimitBytes: config.server.bodyLimitBytes });
        const loaded = await loadBatchApi({ db, engine: batchEngine, settings, clock, logger });
        batchApi = loaded;
        batchRows = loaded.routes;
      }
      const { loadResponsesApi } = await import('./responses/load-responses-api.js');
      const responsesLoaded = await loadResponsesApi({
        ...(control ? { db: (): ControlDb | undefined => control?.store?.db } : {}),
        // Read at start, like the edge's limits (docs/configuration.md#responses).
        settings: { responses: config.responses, bodyLimitBytes: config.server.bodyLimitBytes },
        clock,
        logger,
        metrics,
        ...(options.responseStore ? { wrapStore: options.responseStore } : {}),
      });
      responsesApi = responsesLoaded;
      const operator = operatorRoutes({ metricsBearerToken });
      server = edgeServer([...dataPlaneRoutes({ metrics: operatorPort === undefined, metricsBearerToken, ...(batchRows ? { batchApi: batchRows } : {}), responsesApi: responsesLoaded.routes }), ...(adminPort === undefined ? adminRows : [])]);
      operatorServer = operatorPort === undefined ? undefined : edgeServer(operator);
      adminServer = adminPort === undefined || adminRows.length === 0 ? undefined : edgeServer(adminRows);
      await listenOn(server, listen.host ?? config.server.host, listen.port ?? config.server.port);
      upstreamMetrics.follow(holder.current.config, holder.current.deployments);
      const address = server.address() as AddressInfo;
      if (operatorServer) await listenOn(operatorServer, config.server.metrics.host, operatorPort as number);
      if (adminServer) await listenOn(adminServer, config.admin?.host ?? '127.0.0.1', adminPort as number);
      return {
        host: address.address,
        port: address.port,
        url: urlOf(address),
        ...(operatorServer ? { metricsUrl: urlOf(operatorServer.address() as AddressInfo) } : {}),
        ...(adminServer ? { adminUrl: urlOf(adminServer.address() as AddressInfo) } : {}),
      };
    },
    shutdown: () => stop(holder.current.config.server.drainDelayMs),
    close: () => stop(0),
    reload: (next) => reloader.reload(next),
    reloadFromFile: (path, env) => reloader.reloadFromFile(path, env),
  };
  return gateway;
}

/** Connections each deployment holds now (once a second, for the live view). */
function* inFlightByDeployment(deployments: ReadonlyMap<string, RuntimeDeployment>): Iterable<readonly [string, number]> {
  for (const [name, d] of deployments) yield [name, d.endpoint.gate.held];
}

function listenOn(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Stops listening and closes every connection left (after a drain, none are busy). */
function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
