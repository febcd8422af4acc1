import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerState } from '../resilience/breaker.js';
import type { AttemptEvent, ConfigReloadEvent, GatewayEvents, RequestFinishedEvent } from './events.js';

/** Spec bucket boundaries (observability.md). */
const durationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const ttftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
const tpotBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];
const tokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const overheadBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05];

const breakerStateValue: Record<BreakerState, number> = { closed: 0, open: 1, half_open: 2 };

const clientLabels = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model', 'error_type', 'server_address', 'server_port'] as const;

/**
 * Prometheus metrics, fed only by events. Every label value comes from configuration (aliases,
 * deployments, tenants) or a closed vocabulary; a model the client made up is "unknown".
 */
export class GatewayMetrics implements Partial<GatewayEvents> {
  readonly registry = new Registry();
  readonly #clientDuration: Histogram<(typeof clientLabels)[number]>;
  readonly #clientTokens: Histogram<(typeof clientLabels)[number] | 'gen_ai_token_type'>;
  readonly #serverDuration: Histogram<'gen_ai_operation_name' | 'gen_ai_request_model' | 'error_type'>;
  readonly #serverTtft: Histogram<'gen_ai_operation_name' | 'gen_ai_request_model'>;
  readonly #serverTpot: Histogram<'gen_ai_operation_name' | 'gen_ai_request_model'>;
  readonly #requests: Counter<'route' | 'model' | 'status_class' | 'outcome'>;
  readonly #attempts: Counter<'deployment' | 'outcome'>;
  readonly #retries: Counter<'model' | 'reason'>;
  readonly #retryBudget: Counter<'model'>;
  readonly #fallbacks: Counter<'from' | 'to'>;
  readonly #cooldowns: Counter<'deployment'>;
  readonly #breakerState: Gauge<'deployment'>;
  readonly #breakerTransitions: Counter<'deployment' | 'from' | 'to'>;
  readonly #rateLimit: Counter<'model' | 'limit' | 'result'>;
  readonly #failOpen: Counter<'model' | 'limit'>;
  readonly #failClosed: Counter<'model' | 'limit'>;
  readonly #stateErrors: Counter<'reason'>;
  readonly #stateBreaker: Gauge;
  readonly #tokens: Counter<'model' | 'type'>;
  readonly #estimated: Counter<'model'>;
  readonly #overhead: Histogram<'route'>;
  readonly #reloads: Counter<'result'>;
  readonly #configVersion: Gauge;
  readonly #configLoadedAt: Gauge;

  constructor(options: { version: string; deployments: readonly string[] }) {
    const r = [this.registry];
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    this.#clientDuration = new Histogram({ name: 'gen_ai_client_operation_duration_seconds', help: 'Duration of upstream (provider) calls.', labelNames: clientLabels, buckets: durationBuckets, registers: r });
    this.#clientTokens = new Histogram({ name: 'gen_ai_client_token_usage', help: 'Tokens per upstream call, by token type.', labelNames: [...clientLabels, 'gen_ai_token_type'], buckets: tokenBuckets, registers: r });
    this.#serverDuration = new Histogram({ name: 'gen_ai_server_request_duration_seconds', help: 'Duration of gateway requests as the client sees them.', labelNames: ['gen_ai_operation_name', 'gen_ai_request_model', 'error_type'], buckets: durationBuckets, registers: r });
    this.#serverTtft = new Histogram({ name: 'gen_ai_server_time_to_first_token_seconds', help: 'Time to the first streamed chunk sent to the client.', labelNames: ['gen_ai_operation_name', 'gen_ai_request_model'], buckets: ttftBuckets, registers: r });
    this.#serverTpot = new Histogram({ name: 'gen_ai_server_time_per_output_token_seconds', help: 'Streams: (duration - TTFT) / (output tokens - 1).', labelNames: ['gen_ai_operation_name', 'gen_ai_request_model'], buckets: tpotBuckets, registers: r });
    this.#requests = new Counter({ name: 'gateway_requests_total', help: 'Gateway requests by outcome.', labelNames: ['route', 'model', 'status_class', 'outcome'], registers: r });
    this.#attempts = new Counter({ name: 'gateway_upstream_attempts_total', help: 'Upstream attempts by deployment and result.', labelNames: ['deployment', 'outcome'], registers: r });
    this.#retries = new Counter({ name: 'gateway_retries_total', help: 'Retries started, by model alias and the failure that caused them.', labelNames: ['model', 'reason'], registers: r });
    this.#retryBudget = new Counter({ name: 'gateway_retry_budget_exhausted_total', help: 'Retries refused because the retry budget was spent.', labelNames: ['model'], registers: r });
    this.#fallbacks = new Counter({ name: 'gateway_fallbacks_total', help: 'Fallbacks from one model alias to the next.', labelNames: ['from', 'to'], registers: r });
    this.#cooldowns = new Counter({ name: 'gateway_deployment_cooldowns_total', help: 'Times a deployment was put in cooldown after a provider 429.', labelNames: ['deployment'], registers: r });
    this.#breakerState = new Gauge({ name: 'gateway_circuit_breaker_state', help: 'Circuit breaker state per deployment: 0 closed, 1 open, 2 half-open.', labelNames: ['deployment'], registers: r, aggregator: 'max' });
    this.#breakerTransitions = new Counter({ name: 'gateway_circuit_breaker_transitions_total', help: 'Circuit breaker state changes.', labelNames: ['deployment', 'from', 'to'], registers: r });
    this.#rateLimit = new Counter({ name: 'gateway_ratelimit_decisions_total', help: 'Rate-limit decisions by model, limit and result.', labelNames: ['model', 'limit', 'result'], registers: r });
    this.#failOpen = new Counter({ name: 'gateway_ratelimit_failopen_total', help: 'Limit decisions made by the local fallback because shared state (Redis) was unavailable.', labelNames: ['model', 'limit'], registers: r });
    this.#failClosed = new Counter({ name: 'gateway_ratelimit_failclosed_total', help: 'Requests refused because shared state was unavailable and the limit is fail-closed.', labelNames: ['model', 'limit'], registers: r });
    this.#stateErrors = new Counter({ name: 'gateway_state_errors_total', help: 'Shared-state (Redis) calls that failed, or were not tried because its breaker is open.', labelNames: ['reason'], registers: r });
    this.#stateBreaker = new Gauge({ name: 'gateway_state_breaker_state', help: 'Breaker around Redis: 0 closed, 1 open, 2 half-open.', registers: r });
    this.#stateBreaker.set(0);
    this.#tokens = new Counter({ name: 'gateway_tokens_total', help: 'Tokens charged for served requests, by model alias and type.', labelNames: ['model', 'type'], registers: r });
    this.#estimated = new Counter({ name: 'gateway_usage_estimated_total', help: 'Requests whose usage the gateway estimated because the provider reported none.', labelNames: ['model'], registers: r });
    this.#overhead = new Histogram({ name: 'gateway_overhead_seconds', help: 'Time spent in the gateway itself, excluding upstream waits.', labelNames: ['route'], buckets: overheadBuckets, registers: r });
    this.#reloads = new Counter({ name: 'gateway_config_reloads_total', help: 'Config reloads tried (SIGHUP, --watch-config or Gateway.reload), by result.', labelNames: ['result'], registers: r });
    this.#configVersion = new Gauge({ name: 'gateway_config_version', help: 'Version of the config serving: 1 at start, +1 per successful reload.', registers: r, aggregator: 'max' });
    this.#configLoadedAt = new Gauge({ name: 'gateway_config_last_reload_success_timestamp_seconds', help: 'Unix time the serving config was loaded.', registers: r, aggregator: 'max' });
    for (const result of ['success', 'failure']) this.#reloads.inc({ result }, 0);
    const info = new Gauge({ name: 'gateway_build_info', help: 'Build information.', labelNames: ['version', 'node_version'], registers: r, aggregator: 'max' });
    info.set({ version: options.version, node_version: process.version }, 1);
    for (const d of options.deployments) this.#breakerState.set({ deployment: d }, 0);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  attemptFinished(e: AttemptEvent): void {
    this.#attempts.inc({ deployment: e.deployment, outcome: e.outcome });
    this.#clientDuration.observe(
      {
        gen_ai_operation_name: e.operation,
        gen_ai_provider_name: e.genAiProvider,
        gen_ai_request_model: e.upstreamModel,
        gen_ai_response_model: e.upstreamModel,
        error_type: e.outcome === 'success' ? '' : e.outcome,
        server_address: e.serverAddress,
        server_port: String(e.serverPort),
      },
      e.durationMs / 1000,
    );
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
    this.#rateLimit.inc({ model: e.model, limit: e.kind, result: e.allowed ? 'allowed' : 'rejected' });
  }

  rateLimitDegraded(e: Parameters<GatewayEvents['rateLimitDegraded']>[0]): void {
    (e.mode === 'open' ? this.#failOpen : this.#failClosed).inc({ model: e.model, limit: e.kind });
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
    this.#requests.inc({ route: e.route, model: e.model, status_class: statusClass, outcome: e.outcome });
    this.#serverDuration.observe({ gen_ai_operation_name: e.operation, gen_ai_request_model: e.model, error_type: e.outcome === 'success' ? '' : e.outcome }, e.durationMs / 1000);
    this.#overhead.observe({ route: e.route }, Math.max(0, e.durationMs - e.upstreamMs) / 1000);
    if (e.stream && e.timeToFirstTokenMs !== undefined) {
      this.#serverTtft.observe({ gen_ai_operation_name: e.operation, gen_ai_request_model: e.model }, e.timeToFirstTokenMs / 1000);
      const out = e.usage?.completionTokens ?? 0;
      if (out > 1) this.#serverTpot.observe({ gen_ai_operation_name: e.operation, gen_ai_request_model: e.model }, (e.durationMs - e.timeToFirstTokenMs) / 1000 / (out - 1));
    }
    if (e.usage && e.servedModel) {
      this.#tokens.inc({ model: e.servedModel, type: 'input' }, e.usage.promptTokens);
      this.#tokens.inc({ model: e.servedModel, type: 'output' }, e.usage.completionTokens);
    }
    if (e.usage && e.upstream) {
      const u = e.upstream;
      const labels = {
        gen_ai_operation_name: e.operation,
        gen_ai_provider_name: u.genAiProvider,
        gen_ai_request_model: u.upstreamModel,
        gen_ai_response_model: u.upstreamModel,
        error_type: '',
        server_address: u.serverAddress,
        server_port: String(u.serverPort),
      };
      this.#clientTokens.observe({ ...labels, gen_ai_token_type: 'input' }, e.usage.promptTokens);
      this.#clientTokens.observe({ ...labels, gen_ai_token_type: 'output' }, e.usage.completionTokens);
    }
  }
}
