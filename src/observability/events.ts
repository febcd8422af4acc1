import type { QueueObserver } from '../queue/wait.js';
import type { UsageRecord } from '../api/chat-types.js';
import type { PayloadsConfig } from '../config/schema.js';
import type { BreakerState } from '../resilience/breaker.js';

/**
 * Typed events the flow emits; metrics, logs and the demo subscribe to them. Nothing in the
 * flow calls a metric or a logger directly.
 */

/** How one upstream attempt ended (a closed vocabulary: it becomes a metric label). */
export type AttemptOutcome =
  | 'success'
  | 'rate_limited'
  | 'client_error'
  | 'server_error'
  | 'timeout'
  | 'connect_error'
  | 'reset'
  | 'protocol_error'
  | 'aborted'
  /** No connection of the deployment's pool became free in time (nothing was sent). */
  | 'saturated'
  /** A bug in the gateway (a TypeError in a translator): not the upstream's fault, never retried. */
  | 'internal';

/** How a gateway request ended (a closed vocabulary: it becomes a metric label and a log field). */
export type RequestOutcome =
  | 'success'
  | 'client_error'
  | 'auth_error'
  | 'rate_limited'
  | 'upstream_error'
  | 'timeout'
  | 'client_disconnect'
  | 'no_available_target'
  | 'internal_error';

export interface AttemptEvent {
  readonly requestId: string;
  readonly alias: string;
  readonly deployment: string;
  readonly genAiProvider: string;
  /** The model configured for the target (`gen_ai.request.model`). */
  readonly upstreamModel: string;
  /** The model the upstream says answered (`gen_ai.response.model`); the configured one when it says none. */
  readonly responseModel: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly operation: 'chat' | 'text_completion' | 'embeddings';
  /** 1-based number of this attempt within the request. */
  readonly attempt: number;
  readonly outcome: AttemptOutcome;
  readonly status: number | undefined;
  /** From sending the request until the attempt ended: for a committed stream, its last chunk or its failure. */
  readonly durationMs: number;
  /** Streams: ms from sending the request to the first output chunk received; undefined when none came. */
  readonly timeToFirstChunkMs?: number | undefined;
  /** Streams: the gaps (seconds) before each output chunk after the first, bucketed (observability/chunk-timings.ts). */
  readonly chunkGaps?: ChunkGaps | undefined;
}

/** A histogram of one attempt's gaps between output chunks: counts per bucket (not cumulative), their sum and number. */
export interface ChunkGaps {
  readonly counts: ArrayLike<number>;
  readonly sum: number;
  readonly count: number;
}

export interface RequestFinishedEvent {
  readonly requestId: string;
  readonly route: string;
  /** `gen_ai.operation.name`; undefined for routes that are no API operation (/health, 404s). */
  readonly operation: 'chat' | 'text_completion' | 'embeddings' | undefined;
  readonly tenant: string | undefined;
  /** The configured alias asked for, or "unknown" (never the raw client string). */
  readonly model: string;
  /** The alias that actually served (differs after a fallback). */
  readonly servedModel: string | undefined;
  readonly deployment: string | undefined;
  readonly attempts: number;
  readonly status: number;
  readonly outcome: RequestOutcome;
  readonly errorCode: string | undefined;
  readonly stream: boolean;
  readonly durationMs: number;
  /** Time to first byte sent to the client (streams). */
  readonly timeToFirstTokenMs: number | undefined;
  /** Time spent waiting on upstreams (all attempts and backoff excluded from overhead). */
  readonly upstreamMs: number;
  readonly usage: UsageRecord | undefined;
  /** The upstream that served the request, for per-provider token metrics. */
  readonly upstream: UpstreamLabels | undefined;
  /** OpenAI parameters the serving provider ignored (names from OpenAI's closed list). */
  readonly ignoredParams?: readonly string[] | undefined;
  /**
   * What the request cost, in whole picodollars (spend/money.ts), from its usage and the serving
   * target's price: null when that target has no known price, undefined when nothing served.
   * Estimated exactly when `usage.estimated` is (a cut stream, a provider that reported none).
   */
  readonly costPico?: number | null | undefined;
  /** The credential (Principal.keyId) and signed-in person (Principal.user), when known. */
  readonly keyId?: string | undefined;
  readonly user?: string | undefined;
  /** The prompt and completion, only for a team that stores them (payloads.store); not yet redacted. */
  readonly payload?: RequestPayload | undefined;
  /**
   * 32 lowercase hex, the request's trace id (from the client's `traceparent` when valid, else
   * the one the gateway started when tracing is on; undefined when tracing is off and the client
   * sent none).
   */
  readonly traceId?: string | undefined;
  /** Each upstream attempt, in order (at most MAX_ATTEMPT_LOG): the console's request timeline. */
  readonly attemptLog?: readonly AttemptLogEntry[] | undefined;
}

/** One upstream attempt of a request, as the request log keeps it (names from configuration only). */
export interface AttemptLogEntry {
  /** 1-based. */
  readonly n: number;
  readonly alias: string;
  readonly deployment: string;
  /** Ms from the request's start to the attempt's. */
  readonly startMs: number;
  readonly durationMs: number;
  readonly outcome: AttemptOutcome;
  /** The upstream's HTTP status, when it answered. */
  readonly status: number | null;
  /** Ms from the attempt's start to its first content (a stream that reached its commit point). */
  readonly ttftMs: number | null;
  /** What the gateway did next: another deployment or try of the alias, or a fallback alias. */
  readonly next: 'retry' | 'fallback' | null;
  /** Why it failed: the classified outcome; null when it succeeded. */
  readonly reason: string | null;
}

/** Attempts a request's log keeps (the executor's bounds make far fewer; a runaway cannot grow a row). */
export const MAX_ATTEMPT_LOG = 16;

/** A request's content as captured (cut to the team's maxBytes), with the team's rules for it. */
export interface RequestPayload {
  readonly request: string;
  readonly response: string | undefined;
  readonly truncated: boolean;
  readonly policy: PayloadsConfig;
}

/** Labels that identify the upstream side of a call (all from configuration). */
export interface UpstreamLabels {
  readonly genAiProvider: string;
  readonly upstreamModel: string;
  /** What the upstream says answered (`gen_ai.response.model`); the configured model when it says none. */
  readonly responseModel: string;
  readonly serverAddress: string;
  readonly serverPort: number;
}

/** A config was loaded at start, or a reload was tried (D-03). */
export interface ConfigReloadEvent {
  readonly result: 'success' | 'failure';
  /** The config loaded at start (not counted as a reload). */
  readonly initial: boolean;
  /** The version serving after the attempt (unchanged on failure). */
  readonly version: number;
  /** Wall-clock ms of the attempt. */
  readonly atMs: number;
  /** Deployment names: new, gone, and changed (compiled afresh). */
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly rebuilt: readonly string[];
  /** Why a reload failed (config paths and messages; never secret values). */
  readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>;
  /** Config paths a successful reload changed but could not apply: read once at start, they wait for a restart. */
  readonly restartRequired: readonly string[];
}
export interface BudgetDecisionEvent {
  readonly tenant: string;
  readonly model: string;
  readonly allowed: boolean;
  /** When refused: the budget that had no room. */
  readonly rejected?: { readonly scope: string; readonly scopeType: 'team' | 'key'; readonly period: string };
  /** Spent ÷ hard limit of the team's tightest budget after the decision (for the gauge), when it has one. */
  readonly teamSpentRatio?: number;
  /** Wall ms when the window of the budget that gave the ratio ends (none for a lifetime budget): the ratio is stale after it. */
  readonly teamSpentRatioUntilMs?: number;
}

export interface BudgetSoftLimitEvent {
  readonly tenant: string;
  /** `team:<name>` or `key:<id>`. */
  readonly scope: string;
  readonly scopeType: 'team' | 'key';
  readonly period: string;
  /** The window's first instant and its end (ISO 8601); no end for lifetime. */
  readonly windowStart: string;
  readonly windowEnd: string | undefined;
  readonly softLimitPico: bigint;
  readonly limitPico: bigint | undefined;
  readonly spentPico: bigint;
}

/** Which limit an admission event concerns (a closed vocabulary: it becomes a metric label). */
export type LimitEventKind = 'requests' | 'tokens' | 'concurrency';

export interface GatewayEvents {
  attemptFinished(e: AttemptEvent): void;
  retry(e: { readonly requestId: string; readonly alias: string; readonly fromDeployment: string; readonly reason: AttemptOutcome; readonly delayMs: number }): void;
  retryBudgetExhausted(e: { readonly requestId: string; readonly alias: string }): void;
  fallback(e: { readonly requestId: string; readonly from: string; readonly to: string }): void;
  cooldown(e: { readonly deployment: string; readonly durationMs: number }): void;
  breakerTransition(e: { readonly deployment: string; readonly from: BreakerState; readonly to: BreakerState; readonly reason: string }): void;
  rateLimitDecision(e: { readonly tenant: string; readonly model: string; readonly kind: LimitEventKind; readonly allowed: boolean }): void;
  /** Shared state was unavailable: the limit was decided by its failure mode (`open`: locally, `closed`: refused). */
  rateLimitDegraded(e: { readonly tenant: string; readonly model: string; readonly kind: LimitEventKind; readonly mode: 'open' | 'closed' }): void;
  /** A budget reservation was decided at admission (one event per request and alias, not per budget). */
  budgetDecision(e: BudgetDecisionEvent): void;
  /** Budgets could not be checked in shared state: decided by `state.failureMode` (`open`: a local share, `closed`: refused). */
  budgetDegraded(e: { readonly tenant: string; readonly mode: 'open' | 'closed' }): void;
  /** A settle made a budget's spend reach its soft limit: reported by exactly one replica, once per window. */
  budgetSoftLimitCrossed(e: BudgetSoftLimitEvent): void;
  /** A soft-limit alert's webhook delivery ended: delivered, given up after its attempts, or dropped (queue full). */
  budgetWebhook(e: { readonly result: 'delivered' | 'failed' | 'dropped' }): void;
  /** A shared-state (Redis) call failed, or was not tried because the Redis breaker is open. */
  stateError(e: { readonly reason: 'timeout' | 'connection' | 'breaker_open' | 'error' }): void;
  stateBreakerTransition(e: { readonly from: BreakerState; readonly to: BreakerState }): void;
  usageEstimated(e: { readonly model: string }): void;
  /** A target with no config `price` and no catalogue entry: its requests cost null. Once per target per config compile. */
  targetUnpriced(e: { readonly alias: string; readonly deployment: string; readonly upstreamModel: string }): void;
  requestFinished(e: RequestFinishedEvent): void;
  /** A request hit a bug (an exception that is neither an upstream nor a protocol error); once per request. */
  internalError(e: { readonly requestId: string; readonly error: unknown }): void;
  configReloaded(e: ConfigReloadEvent): void;
  /** The control plane's snapshot was (re)loaded from its store. */
  controlPlaneSynced(e: { readonly version: number; readonly apiKeys: number; readonly teams: number; readonly durationMs: number }): void;
  /** The control plane's store could not be reached for a load, a lastUsedAt flush or security audit entries. */
  controlPlaneUnavailable(e: { readonly during: 'load' | 'flush' | 'audit' }): void;
  /** Request-log rows written to the database, spooled to disk (it could not take them), or dropped (spool full, refused). */
  requestLogRows(e: { readonly result: 'written' | 'spooled' | 'dropped'; readonly rows: number }): void;
  /** The request log's backlog: rows held in memory and bytes in the spool. */
  requestLogBacklog(e: { readonly bufferedRows: number; readonly spoolBytes: number }): void;
  /** A security audit event was dropped because the bounded queue was full (a flood); the count is audited later. */
  auditEventDropped(e: Record<string, never>): void;
  /** Finished spans lost: the export queue was full, or their export failed or timed out (tracing on). */
  traceSpansDropped(e: { readonly reason: 'queue_full' | 'export_failed'; readonly spans: number }): void;
  /** A request started waiting in a queue (docs/queueing.md). */
  queueEntered(e: Parameters<QueueObserver['queueEntered']>[0]): void;
  /** A wait ended (or was refused at once: `full`, or a zero wait limit): once per wait. */
  queueLeft(e: Parameters<QueueObserver['queueLeft']>[0]): void;
  /** predicted_latency: what it predicted for an attempt and what was observed (prediction error). */
  routingPrediction(e: { readonly alias: string; readonly deployment: string; readonly kind: 'ttft' | 'tpot'; readonly predictedMs: number; readonly observedMs: number }): void;
  /**
   * Hedging: a hedge attempt `started`, then `won` (answered first) or `lost` (the first attempt
   * answered first, or both failed); `budget_exhausted` / `no_target` when one was due but not started.
   */
  hedge(e: { readonly alias: string; readonly outcome: 'started' | 'won' | 'lost' | 'budget_exhausted' | 'no_target' }): void;
  /** predicted_latency with `onSloMiss: shed`: a request refused because no deployment was predicted to meet its SLO. */
  sloShed(e: { readonly alias: string }): void;
  /** One scrape of a deployment's own metrics (deployments.<d>.metrics). */
  upstreamMetricsScrape(e: { readonly deployment: string; readonly outcome: 'ok' | 'error' | 'timeout' | 'invalid'; readonly durationMs: number }): void;
}

// A key for every event, so that adding one to GatewayEvents without listing it here fails to compile.
const eventNameSet: { readonly [K in keyof GatewayEvents]: true } = {
  attemptFinished: true,
  retry: true,
  retryBudgetExhausted: true,
  fallback: true,
  cooldown: true,
  breakerTransition: true,
  rateLimitDecision: true,
  rateLimitDegraded: true,
  budgetDecision: true,
  budgetDegraded: true,
  budgetSoftLimitCrossed: true,
  budgetWebhook: true,
  stateError: true,
  stateBreakerTransition: true,
  usageEstimated: true,
  targetUnpriced: true,
  requestFinished: true,
  internalError: true,
  configReloaded: true,
  controlPlaneSynced: true,
  controlPlaneUnavailable: true,
  auditEventDropped: true,
  requestLogRows: true,
  requestLogBacklog: true,
  traceSpansDropped: true,
  queueEntered: true,
  queueLeft: true,
  routingPrediction: true,
  hedge: true,
  sloShed: true,
  upstreamMetricsScrape: true,
};

/** Every event name of GatewayEvents. */
export const gatewayEventNames = Object.keys(eventNameSet) as ReadonlyArray<keyof GatewayEvents>;

/** Calls every sink for each event; a sink that throws is isolated from the others and from the flow. */
export function fanOut(sinks: ReadonlyArray<Partial<GatewayEvents>>, onSinkError: (err: unknown) => void): GatewayEvents {
  const out = {} as Record<keyof GatewayEvents, (e: never) => void>;
  for (const name of gatewayEventNames) {
    const handlers = sinks.map((s) => s[name]?.bind(s)).filter((h): h is (e: never) => void => h !== undefined);
    out[name] = (e: never) => {
      for (const h of handlers) {
        try {
          h(e);
        } catch (err) {
          onSinkError(err);
        }
      }
    };
  }
  return out as unknown as GatewayEvents;
}
