import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerState } from '../resilience/breaker.js';
import type { AttemptEvent, ConfigReloadEvent, GatewayEvents, RequestFinishedEvent } from './events.js';
import { clientDurationBuckets } from './chunk-timings.js';
import { LabelledCounter, LabelledHistogram, LabelledMoneyCounter } from './labelled-metrics.js';
import { droppedLogLines } from './logger.js';

/** The bucket boundaries the OpenTelemetry GenAI semantic conventions specify for each instrument. */
const durationBuckets = clientDurationBuckets;
const ttftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
const tpotBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];
const tokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** Queue waits: from a few ms (a slot freed at once) to a minute and more (long `queue.maxWaitMs`). */
const queueWaitBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Batch item runs: one request each, retries and fallbacks included (up to the total deadline). */
const batchItemBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const overheadBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05];

/** What a batch item's run came to (batches/runner/item-step.ts: StepOutcome). */
type BatchItemOutcome = 'succeeded' | 'failed' | 'retry' | 'aborted' | 'lost';
const batchItemOutcomes: readonly BatchItemOutcome[] = ['succeeded', 'failed', 'retry', 'aborted', 'lost'];

const breakerStateValue: Record<BreakerState, number> = { closed: 0, open: 1, half_open: 2 };

/**
 * Distinct `gen_ai.response.model` values kept per configured model: upstreams name the model
 * that answered (a dated snapshot), which is not from our config, so a misbehaving upstream
 * that makes up names gets at most this many series per model; later names are "other".
 */
export const maxResponseModelsPerModel = 8;

/**
 * Distinct `team` values on a metric. Team names come from the config and the admin API
 * (operators make them, clients do not), but a store can hold thousands; past this many, further
 * teams are counted as "other" (the cost metric) or get no series (the budget ratio), so no
 * metric can grow without bound. The request log has them all.
 */
export const maxTeamLabels = 100;

const clientLabels = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model', 'error_type', 'server_address', 'server_port'] as const;
/** The streaming client instruments: the conventions give them no `error.type`. */
const chunkLabels = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model', 'server_address', 'server_port'] as const;
/**
 * The gateway as a GenAI server: the provider and response model are those of the upstream
 * that served (empty when none did). No server.address/port: on the server side they would
 * name the gateway itself, the same on every series.
 */
const serverLabels = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model'] as const;

/**
 * Prometheus metrics, fed only by events. Every label value comes from configuration (aliases,
 * deployments, tenants) or a closed vocabulary; a model the client made up is "unknown".
 */
export class GatewayMetrics implements Partial<GatewayEvents> {
  readonly registry = new Registry();
  // The instruments every request touches are LabelledHistogram/LabelledCounter (cheap label
  // lookups); the rare ones stay plain prom-client.
  readonly #clientDuration: LabelledHistogram<typeof clientLabels>;
  readonly #clientTokens: LabelledHistogram<readonly [...typeof clientLabels, 'gen_ai_token_type']>;
  readonly #clientTtfc: LabelledHistogram<typeof chunkLabels>;
  readonly #clientTpoc: LabelledHistogram<typeof chunkLabels>;
  readonly #serverDuration: LabelledHistogram<readonly [...typeof serverLabels, 'error_type']>;
  readonly #serverTtft: LabelledHistogram<typeof serverLabels>;
  readonly #serverTpot: LabelledHistogram<typeof serverLabels>;
  readonly #requests: LabelledCounter<readonly ['route', 'model', 'status_class', 'outcome']>;
  readonly #attempts: LabelledCounter<readonly ['deployment', 'outcome']>;
  readonly #retries: Counter<'model' | 'reason'>;
  readonly #retryBudget: Counter<'model'>;
  readonly #fallbacks: Counter<'from' | 'to'>;
  readonly #cooldowns: Counter<'deployment'>;
  readonly #breakerState: Gauge<'deployment'>;
  #readBreakers: (() => void) | undefined;
  readonly #breakerTransitions: Counter<'deployment' | 'from' | 'to'>;
  readonly #rateLimit: LabelledCounter<readonly ['model', 'limit', 'result']>;
  readonly #failOpen: Counter<'model' | 'limit'>;
  readonly #failClosed: Counter<'model' | 'limit'>;
  readonly #stateErrors: Counter<'reason'>;
  readonly #budgetDecisions: LabelledCounter<readonly ['result', 'scope_type']>;
  readonly #budgetDegraded: Counter<'mode'>;
  readonly #budgetSoft: Counter<'scope_type'>;
  readonly #budgetRatio: Gauge<'team'>;
  readonly #budgetWebhook: Counter<'result'>;
  /** Teams given a spent-ratio series (at most maxTeamLabels). */
  readonly #budgetTeams = new Set<string>();
  /** Per team with a ratio: wall ms when the window it was measured in ends. */
  readonly #budgetRatioUntil = new Map<string, number>();
  readonly #wallMs: () => number;
  readonly #stateBreaker: Gauge;
  readonly #tokens: LabelledCounter<readonly ['model', 'type']>;
  readonly #estimated: Counter<'model'>;
  readonly #cost: LabelledMoneyCounter<readonly ['model', 'deployment', 'team']>;
  readonly #unpriced: LabelledCounter<readonly ['model']>;
  /** Team label values in use on the cost metric (bounded by maxTeamLabels). */
  readonly #costTeams = new Set<string>();
  readonly #overhead: LabelledHistogram<readonly ['route']>;
  readonly #reloads: Counter<'result'>;
  readonly #traceDropped: Counter<'reason'>;
  readonly #queueDepth: Gauge<'reason' | 'priority'>;
  readonly #queueWait: LabelledHistogram<readonly ['reason', 'priority', 'outcome']>;
  readonly #queueRefused: Counter<'reason' | 'outcome'>;
  readonly #responsesStored: Counter<'result'>;
  readonly #predictionError: Histogram<'model' | 'deployment' | 'kind'>;
  readonly #hedges: Counter<'model' | 'outcome'>;
  readonly #sloShed: Counter<'model'>;
  readonly #scrapes: Counter<'deployment' | 'outcome'>;
  readonly #scrapeDuration: Histogram<'deployment'>;
  readonly #configVersion: Gauge;
  readonly #configLoadedAt: Gauge;
  /** Only registered when the control plane is on: a gateway without one shows none of them. */
  readonly #control:
    | { up: Gauge; version: Gauge; keys: Gauge; errors: Counter<'during'>; auditDropped: Counter; logRows: Counter<'result'>; logBuffered: Gauge; logSpool: Gauge; batchItems: Counter<'outcome'>; batchDuration: Histogram; batchRunnable: Gauge }
    | undefined;
  /** Response-model label values seen, per configured model (bounded by maxResponseModelsPerModel). */
  readonly #responseModels = new Map<string, Set<string>>();

  constructor(options: { version: string; deployments: readonly string[]; controlPlane?: boolean; wallMs?: () => number }) {
    this.#wallMs = options.wallMs ?? Date.now;
    const r = [this.registry];
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    const reg = this.registry;
    this.#clientDuration = new LabelledHistogram('gen_ai_client_operation_duration_seconds', 'Duration of upstream (provider) calls; a stream until its end.', clientLabels, durationBuckets, reg);
    this.#clientTokens = new LabelledHistogram('gen_ai_client_token_usage', 'Tokens per upstream call, by token type.', [...clientLabels, 'gen_ai_token_type'], tokenBuckets, reg);
    this.#clientTtfc = new LabelledHistogram('gen_ai_client_operation_time_to_first_chunk_seconds', 'Streams: time from sending the request upstream to its first output chunk.', chunkLabels, durationBuckets, reg);
    this.#clientTpoc = new LabelledHistogram('gen_ai_client_operation_time_per_output_chunk_seconds', 'Streams: time between output chunks from the upstream, per chunk after the first.', chunkLabels, durationBuckets, reg);
    this.#serverDuration = new LabelledHistogram('gen_ai_server_request_duration_seconds', 'Duration of gateway requests as the client sees them.', [...serverLabels, 'error_type'], durationBuckets, reg);
    this.#serverTtft = new LabelledHistogram('gen_ai_server_time_to_first_token_seconds', 'Successful streams: time to the first chunk sent to the client.', serverLabels, ttftBuckets, reg);
    this.#serverTpot = new LabelledHistogram('gen_ai_server_time_per_output_token_seconds', 'Successful streams: (duration - TTFT) / (output tokens - 1).', serverLabels, tpotBuckets, reg);
    this.#requests = new LabelledCounter('gateway_requests_total', 'Gateway requests by outcome.', ['route', 'model', 'status_class', 'outcome'], reg);
    this.#attempts = new LabelledCounter('gateway_upstream_attempts_total', 'Upstream attempts by deployment and result.', ['deployment', 'outcome'], reg);
    this.#retries = new Counter({ name: 'gateway_retries_total', help: 'Retries started, by model alias and the failure that caused them.', labelNames: ['model', 'reason'], registers: r });
    this.#retryBudget = new Counter({ name: 'gateway_retry_budget_exhausted_total', help: 'Retries refused because the retry budget was spent.', labelNames: ['model'], registers: r });
    this.#fallbacks = new Counter({ name: 'gateway_fallbacks_total', help: 'Fallbacks from one model alias to the next.', labelNames: ['from', 'to'], registers: r });
    this.#cooldowns = new Counter({ name: 'gateway_deployment_cooldowns_total', help: 'Times a deployment was put in cooldown after a provider 429.', labelNames: ['deployment'], registers: r });
    // Breakers own no timers and move open → half-open only when read: without a read at
    // collect time, a breaker that opened and then saw no traffic would show "open" for ever.
    const breakers = (): void => this.#readBreakers?.();
    this.#breakerState = new Gauge({ name: 'gateway_circuit_breaker_state', help: 'Circuit breaker state per deployment: 0 closed, 1 open, 2 half-open.', labelNames: ['deployment'], registers: r, aggregator: 'max', collect: breakers });
    this.#breakerTransitions = new Counter({ name: 'gateway_circuit_breaker_transitions_total', help: 'Circuit breaker state changes.', labelNames: ['deployment', 'from', 'to'], registers: r });
    this.#budgetDecisions = new LabelledCounter('gateway_budget_decisions_total', 'Budget reservations at admission, by result and the kind of budget that refused.', ['result', 'scope_type'], reg);
    // Read at scrape time from the logger's own count (a dropped line has no event to count it by).
    let droppedSeen = 0;
    new Counter({
      name: 'gateway_log_lines_dropped_total',
      help: 'Log lines dropped because standard output was not being read (more than 16 MiB waiting).',
      registers: r,
      collect() {
        const dropped = droppedLogLines();
        if (dropped > droppedSeen) this.inc(dropped - droppedSeen);
        droppedSeen = dropped;
      },
    });
    this.#budgetDegraded = new Counter({ name: 'gateway_budget_degraded_total', help: 'Budget decisions made without Redis: on the local share (open) or refused (closed).', labelNames: ['mode'], registers: r });
    this.#budgetSoft = new Counter({ name: 'gateway_budget_soft_limit_crossed_total', help: 'Soft budget limits crossed (counted once, by the replica whose settle crossed it).', labelNames: ['scope_type'], registers: r });
    // A ratio is only true in the window it was measured in: once that window ends (the spend
    // reset), a team that sent nothing since has no ratio rather than last window's.
    const dropEnded = (): void => {
      const now = this.#wallMs();
      for (const [team, until] of this.#budgetRatioUntil) {
        if (until > now) continue;
        this.#budgetRatio.remove({ team });
        this.#budgetRatioUntil.delete(team);
      }
    };
    this.#budgetRatio = new Gauge({ name: 'gateway_budget_spent_ratio', help: "Spent ÷ hard limit of the team's fullest budget, as last seen by this replica in the current window.", labelNames: ['team'], registers: r, aggregator: 'max', collect: dropEnded });
    this.#budgetWebhook = new Counter({ name: 'gateway_budget_webhook_deliveries_total', help: 'Soft-limit alerts by webhook: delivered, failed after every attempt, or dropped (queue full).', labelNames: ['result'], registers: r });
    this.#rateLimit = new LabelledCounter('gateway_ratelimit_decisions_total', 'Rate-limit decisions by model, limit and result.', ['model', 'limit', 'result'], reg);
    this.#failOpen = new Counter({ name: 'gateway_ratelimit_failopen_total', help: 'Limit decisions made by the local fallback because shared state (Redis) was unavailable.', labelNames: ['model', 'limit'], registers: r });
    this.#failClosed = new Counter({ name: 'gateway_ratelimit_failclosed_total', help: 'Requests refused because shared state was unavailable and the limit is fail-closed.', labelNames: ['model', 'limit'], registers: r });
    this.#stateErrors = new Counter({ name: 'gateway_state_errors_total', help: 'Shared-state (Redis) calls that failed, or were not tried because its breaker is open.', labelNames: ['reason'], registers: r });
    // Gauges are not summed across `--workers` (two open breakers are not "2, half-open"): each
    // says how it combines (prom-client AggregatorRegistry); counters and histograms sum.
    this.#stateBreaker = new Gauge({ name: 'gateway_state_breaker_state', help: 'Breaker around Redis: 0 closed, 1 open, 2 half-open (with --workers: the highest any worker reports).', registers: r, aggregator: 'max' });
    this.#stateBreaker.set(0);
    this.#tokens = new LabelledCounter('gateway_tokens_total', 'Tokens charged for served requests, by model alias and type.', ['model', 'type'], reg);
    this.#estimated = new Counter({ name: 'gateway_usage_estimated_total', help: 'Requests whose usage the gateway estimated because the provider reported none.', labelNames: ['model'], registers: r });
    this.#cost = new LabelledMoneyCounter('gateway_cost_usd_total', 'What served requests cost, in US dollars (exact sums of per-request costs; estimated usage included).', ['model', 'deployment', 'team'], reg);
    this.#unpriced = new LabelledCounter('gateway_cost_unpriced_total', 'Requests served by a target with no known price (cost null): set its price in the config.', ['model'], reg);
    this.#overhead = new LabelledHistogram('gateway_overhead_seconds', 'Time spent in the gateway itself, excluding upstream waits.', ['route'], overheadBuckets, reg);
    eventLoopDelayGauge(r);
    this.#reloads = new Counter({ name: 'gateway_config_reloads_total', help: 'Config reloads tried (SIGHUP, --watch-config or Gateway.reload), by result.', labelNames: ['result'], registers: r });
    this.#configVersion = new Gauge({ name: 'gateway_config_version', help: 'Version of the config serving: 1 at start, +1 per successful reload.', registers: r, aggregator: 'max' });
    this.#configLoadedAt = new Gauge({ name: 'gateway_config_last_reload_success_timestamp_seconds', help: 'Unix time the serving config was loaded.', registers: r, aggregator: 'max' });
    for (const result of ['success', 'failure']) this.#reloads.inc({ result }, 0);
    this.#traceDropped = new Counter({ name: 'gateway_trace_spans_dropped_total', help: 'Finished spans not exported: the export queue was full, or their export failed or timed out (tracing on).', labelNames: ['reason'], registers: r });
    // Summed across `--workers`: each process has its own waiters.
    this.#queueDepth = new Gauge({ name: 'gateway_queue_depth', help: 'Requests waiting now, by what they wait for (concurrency slot, upstream connection, cooldown) and priority class.', labelNames: ['reason', 'priority'], registers: r, aggregator: 'sum' });
    this.#queueWait = new LabelledHistogram('gateway_queue_wait_seconds', 'Time requests waited in a queue, by what for, priority class and how the wait ended.', ['reason', 'priority', 'outcome'], queueWaitBuckets, reg);
    this.#predictionError = new Histogram({ name: 'gateway_routing_prediction_error_ratio', help: 'predicted_latency: |predicted − observed| / observed for each attempt, by the predicted quantity (ttft, tpot).', labelNames: ['model', 'deployment', 'kind'], buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5, 10], registers: r });
    this.#hedges = new Counter({ name: 'gateway_hedges_total', help: 'Hedged requests: hedge attempts started, won (answered first) or lost; hedges due but refused by the budget or with no other deployment.', labelNames: ['model', 'outcome'], registers: r });
    this.#sloShed = new Counter({ name: 'gateway_routing_slo_shed_total', help: 'predicted_latency with onSloMiss: shed: requests refused because no deployment was predicted to meet their SLO.', labelNames: ['model'], registers: r });
    this.#scrapes = new Counter({ name: 'gateway_upstream_metrics_scrapes_total', help: "Scrapes of deployments' own metrics (deployments.<d>.metrics), by result.", labelNames: ['deployment', 'outcome'], registers: r });
    this.#scrapeDuration = new Histogram({ name: 'gateway_upstream_metrics_scrape_duration_seconds', help: "Time one scrape of a deployment's own metrics took.", labelNames: ['deployment'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: r });
    this.#responsesStored = new Counter({ name: 'gateway_responses_stored_total', help: 'Responses of /v1/responses with store:true: stored before the client got them, or sent unstored because storing failed or timed out.', labelNames: ['result'], registers: r });
    for (const result of ['stored', 'failed']) this.#responsesStored.inc({ result }, 0);
    this.#queueRefused = new Counter({ name: 'gateway_queue_refusals_total', help: 'Requests refused by a queue: the wait limit or deadline passed (timeout) or it had no room (full).', labelNames: ['reason', 'outcome'], registers: r });
    for (const reason of ['concurrency', 'pool', 'cooldown']) for (const priority of ['high', 'normal', 'low']) this.#queueDepth.set({ reason, priority }, 0);
    this.#control = options.controlPlane
      ? {
          up: new Gauge({ name: 'gateway_control_plane_up', help: 'Whether the last snapshot load or version check reached the control-plane database (1) or not (0).', registers: r, aggregator: 'min' }),
          version: new Gauge({ name: 'gateway_control_plane_snapshot_version', help: 'control_state.version of the snapshot this process serves from.', registers: r, aggregator: 'min' }),
          keys: new Gauge({ name: 'gateway_control_plane_api_keys', help: 'API-key secrets in the snapshot (a key in its rotation grace period counts twice).', registers: r, aggregator: 'max' }),
          errors: new Counter({ name: 'gateway_control_plane_errors_total', help: 'Control-plane database calls that failed, by what they were for.', labelNames: ['during'], registers: r }),
          auditDropped: new Counter({ name: 'gateway_audit_events_dropped_total', help: 'Security audit events dropped because the queue was full (their count is audited as audit.dropped).', registers: r }),
          logRows: new Counter({ name: 'gateway_request_log_rows_total', help: 'Request-log rows written to the database, spooled to disk while it could not take them, or dropped.', labelNames: ['result'], registers: r }),
          logBuffered: new Gauge({ name: 'gateway_request_log_buffered_rows', help: 'Request-log rows held in memory, waiting to be written.', registers: r, aggregator: 'sum' }),
          logSpool: new Gauge({ name: 'gateway_request_log_spool_bytes', help: 'Bytes of request-log rows in the local spool, waiting for the database.', registers: r, aggregator: 'sum' }),
          batchItems: new Counter({ name: 'gateway_batch_items_total', help: 'Runs of batch items this replica ended, by what became of the item (failed: dead-lettered).', labelNames: ['outcome'], registers: r }),
          batchDuration: new Histogram({ name: 'gateway_batch_item_duration_seconds', help: 'Duration of one run of a batch item, settling included.', buckets: batchItemBuckets, registers: r }),
          batchRunnable: new Gauge({ name: 'gateway_batch_items_runnable', help: 'Batch items waiting to run now (all replicas), as last sampled by this replica.', registers: r, aggregator: 'max' }),
        }
      : undefined;
    if (this.#control) {
      this.#control.up.set(0);
      for (const during of ['load', 'flush', 'audit']) this.#control.errors.inc({ during }, 0);
      for (const result of ['written', 'spooled', 'dropped']) this.#control.logRows.inc({ result }, 0);
      for (const outcome of batchItemOutcomes) this.#control.batchItems.inc({ outcome }, 0);
    }
    const info = new Gauge({ name: 'gateway_build_info', help: 'Build information.', labelNames: ['version', 'node_version'], registers: r, aggregator: 'max' });

    info.set({ version: options.version, node_version: process.version }, 1);
    for (const d of options.deployments) this.#breakerState.set({ deployment: d }, 0);
  }

  /**
   * Called at each collect, before the breaker gauge is read: reads every live breaker's state,
   * which applies an elapsed open period (its transition event then sets the gauge).
   */
  readBreakersOnCollect(read: () => void): void {
    this.#readBreakers = read;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  attemptFinished(e: AttemptEvent): void {
    this.#attempts.labels(e.deployment, e.outcome).inc();
    const answered = this.#responseModel(e.upstreamModel, e.responseModel);
    const port = String(e.serverPort);
    this.#clientDuration.labels(e.operation, e.genAiProvider, e.upstreamModel, answered, e.outcome === 'success' ? '' : e.outcome, e.serverAddress, port).observe(e.durationMs / 1000);
    if (e.timeToFirstChunkMs !== undefined) this.#clientTtfc.labels(e.operation, e.genAiProvider, e.upstreamModel, answered, e.serverAddress, port).observe(e.timeToFirstChunkMs / 1000);
    if (e.chunkGaps !== undefined && e.chunkGaps.count > 0) this.#clientTpoc.labels(e.operation, e.genAiProvider, e.upstreamModel, answered, e.serverAddress, port).merge(e.chunkGaps);
  }

  retry(e: Parameters<GatewayEvents['retry']>[0]): void {
    this.#retries.inc({ model: e.alias, reason: e.reason });
  }

  retryBudgetExhausted(e: Parameters<GatewayEvents['retryBudgetExhausted']>[0]): void {
    this.#retryBudget.inc({ model: e.alias });
  }

  fallback(e: Parameters<GatewayEvents['fallback']>[0]): void {
    this.#fallbacks.inc({ from: e.from, to: e.to });
  }

  cooldown(e: Parameters<GatewayEvents['cooldown']>[0]): void {
    this.#cooldowns.inc({ deployment: e.deployment });
  }

  breakerTransition(e: Parameters<GatewayEvents['breakerTransition']>[0]): void {
    this.#breakerState.set({ deployment: e.deployment }, breakerStateValue[e.to]);
    this.#breakerTransitions.inc({ deployment: e.deployment, from: e.from, to: e.to });
  }

  rateLimitDecision(e: Parameters<GatewayEvents['rateLimitDecision']>[0]): void {
    this.#rateLimit.labels(e.model, e.kind, e.allowed ? 'allowed' : 'rejected').inc();
  }

  rateLimitDegraded(e: Parameters<GatewayEvents['rateLimitDegraded']>[0]): void {
    (e.mode === 'open' ? this.#failOpen : this.#failClosed).inc({ model: e.model, limit: e.kind });
  }

  budgetDecision(e: Parameters<GatewayEvents['budgetDecision']>[0]): void {
    this.#budgetDecisions.labels(e.allowed ? 'allowed' : 'rejected', e.rejected?.scopeType ?? 'none').inc();
    if (e.teamSpentRatio === undefined) return;
    // Team names are operator-made, but there can be many: the first maxTeamLabels get a series.
    if (!this.#budgetTeams.has(e.tenant)) {
      if (this.#budgetTeams.size >= maxTeamLabels) return;
      this.#budgetTeams.add(e.tenant);
    }
    this.#budgetRatio.set({ team: e.tenant }, e.teamSpentRatio);
    if (e.teamSpentRatioUntilMs === undefined) this.#budgetRatioUntil.delete(e.tenant);
    else this.#budgetRatioUntil.set(e.tenant, e.teamSpentRatioUntilMs);
  }

  budgetDegraded(e: Parameters<GatewayEvents['budgetDegraded']>[0]): void {
    this.#budgetDegraded.inc({ mode: e.mode });
  }

  budgetSoftLimitCrossed(e: Parameters<GatewayEvents['budgetSoftLimitCrossed']>[0]): void {
    this.#budgetSoft.inc({ scope_type: e.scopeType });
  }

  budgetWebhook(e: Parameters<GatewayEvents['budgetWebhook']>[0]): void {
    this.#budgetWebhook.inc({ result: e.result });
  }

  stateError(e: Parameters<GatewayEvents['stateError']>[0]): void {
    this.#stateErrors.inc({ reason: e.reason });
  }

  stateBreakerTransition(e: Parameters<GatewayEvents['stateBreakerTransition']>[0]): void {
    this.#stateBreaker.set(breakerStateValue[e.to]);
  }

  usageEstimated(e: Parameters<GatewayEvents['usageEstimated']>[0]): void {
    this.#estimated.inc({ model: e.model });
  }

  controlPlaneSynced(e: Parameters<GatewayEvents['controlPlaneSynced']>[0]): void {
    this.#control?.up.set(1);
    this.#control?.version.set(e.version);
    this.#control?.keys.set(e.apiKeys);
  }

  controlPlaneUnavailable(e: Parameters<GatewayEvents['controlPlaneUnavailable']>[0]): void {
    if (e.during === 'load') this.#control?.up.set(0);
    this.#control?.errors.inc({ during: e.during });
  }

  auditEventDropped(): void {
    this.#control?.auditDropped.inc();
  }

  requestLogRows(e: Parameters<GatewayEvents['requestLogRows']>[0]): void {
    if (e.rows > 0) this.#control?.logRows.inc({ result: e.result }, e.rows);
  }

  /** A batch item's run ended (the batch runner calls this directly: it is no request event). */
  /** A `/v1/responses` answer with `store: true`: whether its response was stored before it was sent. */
  responseStored(result: 'stored' | 'failed'): void {
    this.#responsesStored.inc({ result });
  }

  batchItemRun(e: { readonly outcome: BatchItemOutcome; readonly durationMs: number }): void {
    this.#control?.batchItems.inc({ outcome: e.outcome });
    this.#control?.batchDuration.observe(e.durationMs / 1000);
  }

  /** Items waiting to run now, sampled by the batch runner (never a query per scrape). */
  batchItemsRunnable(n: number): void {
    this.#control?.batchRunnable.set(n);
  }

  traceSpansDropped(e: Parameters<GatewayEvents['traceSpansDropped']>[0]): void {
    this.#traceDropped.inc({ reason: e.reason }, e.spans);
  }

  queueEntered(e: Parameters<GatewayEvents['queueEntered']>[0]): void {
    this.#queueDepth.inc({ reason: e.reason, priority: e.priority });
  }

  queueLeft(e: Parameters<GatewayEvents['queueLeft']>[0]): void {
    if (e.entered) this.#queueDepth.dec({ reason: e.reason, priority: e.priority });
    this.#queueWait.labels(e.reason, e.priority, e.outcome).observe(e.waitMs / 1000);
    if (e.outcome === 'timeout' || e.outcome === 'full') this.#queueRefused.inc({ reason: e.reason, outcome: e.outcome });
  }

  routingPrediction(e: Parameters<GatewayEvents['routingPrediction']>[0]): void {
    if (!(e.observedMs > 0) || !Number.isFinite(e.predictedMs)) return;
    this.#predictionError.observe({ model: e.alias, deployment: e.deployment, kind: e.kind }, Math.abs(e.predictedMs - e.observedMs) / e.observedMs);
  }

  hedge(e: Parameters<GatewayEvents['hedge']>[0]): void {
    this.#hedges.inc({ model: e.alias, outcome: e.outcome });
  }

  sloShed(e: Parameters<GatewayEvents['sloShed']>[0]): void {
    this.#sloShed.inc({ model: e.alias });
  }

  upstreamMetricsScrape(e: Parameters<GatewayEvents['upstreamMetricsScrape']>[0]): void {
    this.#scrapes.inc({ deployment: e.deployment, outcome: e.outcome });
    this.#scrapeDuration.observe({ deployment: e.deployment }, e.durationMs / 1000);
  }

  requestLogBacklog(e: Parameters<GatewayEvents['requestLogBacklog']>[0]): void {
    this.#control?.logBuffered.set(e.bufferedRows);
    this.#control?.logSpool.set(e.spoolBytes);
  }

  configReloaded(e: ConfigReloadEvent): void {
    if (!e.initial) this.#reloads.inc({ result: e.result });
    if (e.result !== 'success') return;
    this.#configVersion.set(e.version);
    this.#configLoadedAt.set(Math.floor(e.atMs / 1000));
    for (const d of e.removed) this.#breakerState.remove({ deployment: d });
    // New and rebuilt deployments start with a closed breaker.
    for (const d of [...e.added, ...e.rebuilt]) this.#breakerState.set({ deployment: d }, 0);
  }

  requestFinished(e: RequestFinishedEvent): void {
    const statusClass = e.status >= 100 && e.status < 600 ? `${Math.floor(e.status / 100)}xx` : 'none';
    this.#requests.labels(e.route, e.model, statusClass, e.outcome).inc();
    this.#overhead.labels(e.route).observe(Math.max(0, overheadMs(e)) / 1000);
    // The GenAI instruments are for API operations; probes and unmatched routes count only above.
    if (e.operation === undefined) return;
    const provider = e.upstream?.genAiProvider ?? '';
    const answered = e.upstream ? this.#responseModel(e.upstream.upstreamModel, e.upstream.responseModel) : '';
    this.#serverDuration.labels(e.operation, provider, e.model, answered, e.outcome === 'success' ? '' : e.outcome).observe(e.durationMs / 1000);
    // The conventions define both for successful responses only: a stream cut mid-way is in the duration's error_type.
    if (e.stream && e.outcome === 'success' && e.timeToFirstTokenMs !== undefined) {
      this.#serverTtft.labels(e.operation, provider, e.model, answered).observe(e.timeToFirstTokenMs / 1000);
      const out = e.usage?.completionTokens ?? 0;
      if (out > 1) this.#serverTpot.labels(e.operation, provider, e.model, answered).observe((e.durationMs - e.timeToFirstTokenMs) / 1000 / (out - 1));
    }
    if (e.servedModel && e.deployment) {
      if (typeof e.costPico === 'number') this.#cost.labels(e.servedModel, e.deployment, this.#team(e.tenant)).add(e.costPico);
      else if (e.costPico === null) this.#unpriced.labels(e.servedModel).inc();
    }
    if (e.usage && e.servedModel) {
      this.#tokens.labels(e.servedModel, 'input').inc(e.usage.promptTokens);
      this.#tokens.labels(e.servedModel, 'output').inc(e.usage.completionTokens);
    }
    if (e.usage && e.upstream) {
      const u = e.upstream;
      const port = String(u.serverPort);
      const answered = this.#responseModel(u.upstreamModel, u.responseModel);
      this.#clientTokens.labels(e.operation, u.genAiProvider, u.upstreamModel, answered, '', u.serverAddress, port, 'input').observe(e.usage.promptTokens);
      this.#clientTokens.labels(e.operation, u.genAiProvider, u.upstreamModel, answered, '', u.serverAddress, port, 'output').observe(e.usage.completionTokens);
    }
  }

  /** The `team` label: the tenant's (operator-made) name, the first maxTeamLabels of them; later ones are "other". */
  #team(tenant: string | undefined): string {
    const team = tenant ?? '';
    if (this.#costTeams.has(team)) return team;
    if (this.#costTeams.size >= maxTeamLabels) return 'other';
    this.#costTeams.add(team);
    return team;
  }

  /** The `gen_ai.response.model` label: what the upstream said, within the per-model bound. */
  #responseModel(requested: string, answered: string): string {
    if (answered === requested) return answered;
    let seen = this.#responseModels.get(requested);
    if (seen === undefined) this.#responseModels.set(requested, (seen = new Set()));
    if (seen.has(answered)) return answered;
    if (seen.size >= maxResponseModelsPerModel) return 'other';
    seen.add(answered);
    return answered;
  }
}

/**
 * Time the gateway itself spent on a request: its duration minus upstream waits. A stream's
 * duration is mostly the upstream generating, and only the wait for its first chunk is recorded
 * as upstream time, so a stream's overhead is counted up to its first chunk reaching the client.
 */
export function overheadMs(e: RequestFinishedEvent): number {
  if (e.stream && e.timeToFirstTokenMs !== undefined) return e.timeToFirstTokenMs - e.upstreamMs;
  return e.durationMs - e.upstreamMs;
}

/**
 * `gateway_event_loop_delay_seconds{quantile}`: how late the event loop ran timers since the
 * previous scrape (perf_hooks.monitorEventLoopDelay, 10 ms resolution). Every request waits this
 * long on top of the gateway's own overhead, so it is the first place to look when
 * gateway_overhead_seconds grows.
 */
function eventLoopDelayGauge(registers: Registry[]): void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const quantiles: Array<[string, () => number]> = [
    ['0.5', () => delay.percentile(50)],
    ['0.99', () => delay.percentile(99)],
    ['1', () => delay.max],
  ];
  new Gauge({
    name: 'gateway_event_loop_delay_seconds',
    help: 'Event-loop delay since the previous scrape (quantile 1 is the maximum).',
    labelNames: ['quantile'],
    registers,
    // With --workers: the worst worker's delay, not the sum of them.
    aggregator: 'max',
    collect() {
      // No samples yet (fresh process or two scrapes within 10 ms): report 0, not NaN.
      const empty = delay.count === 0;
      for (const [q, read] of quantiles) this.set({ quantile: q }, empty ? 0 : read() / 1e9);
      delay.reset();
    },
  });
}
