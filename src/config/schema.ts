import { z } from 'zod';
import { MAX_PATTERNS, redactionProblem } from '../control/ledger/redact.js';
import { identitySchema } from '../identity/config.js';
import { perMillionToPicoPerToken, usdToPico } from '../spend/money.js';
import { crossReferenceIssues } from './cross-references.js';

/**
 * The configuration schema: the only source of config types. Every object is strict (unknown
 * keys are errors) and every default is written here, so docs/configuration.md can list them.
 */

export const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 ASCII letters, digits or . _ : - (starting with a letter or digit)');

/** `${env:NAME}`: secrets are referenced, never written in the file. */
export const envRefPattern = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/;
/** What a client can send as `Authorization: Bearer <key>` (RFC 6750 b64token, bounded). */
export const tenantKeyPattern = /^[A-Za-z0-9._~+/-]{1,512}=*$/;

const envRef = z.string().regex(envRefPattern, 'must be an environment reference such as ${env:OPENAI_API_KEY}');

/**
 * The longest delay Node.js timers accept (2^31 - 1 ms, about 24.8 days): a longer one fires
 * after 1 ms (setTimeout) or throws (AbortSignal.timeout), so every duration is capped here.
 */
export const maxTimerMs = 2_147_483_647;
/** Default of `retry.maxCooldownMs` (five minutes), also the cap of cooldowns built without a config. */
export const defaultMaxCooldownMs = 300_000;
const timerCap = `must be at most ${maxTimerMs} ms (about 24.8 days), the longest timer Node.js can set`;

const positiveMs = z.number().int().positive().max(maxTimerMs, timerCap);
/** A duration that may be 0 (no wait). */
const delayMs = z.number().int().min(0).max(maxTimerMs, timerCap);

const timeoutsSchema = z
  .object({
    /** TCP (and TLS) connect timeout for upstream connections. */
    connectMs: positiveMs.default(5_000),
    /** Time from sending the request until the upstream's response headers arrive. */
    firstByteMs: positiveMs.default(60_000),
    /**
     * Streams: time from the response headers until the first chunk that carries content, a
     * tool call or a finish (comments, empty events and role-only chunks do not count). A
     * retryable failure that counts for the breaker. Unset: the deployment's `firstByteMs`.
     */
    firstContentMs: positiveMs.optional(),
    /** Longest silence between two chunks of an upstream body. */
    idleMs: positiveMs.default(60_000),
    /** Longest wait for a free connection of a deployment's pool; then 503 `upstream_saturated`. */
    poolQueueMs: positiveMs.default(5_000),
    /** One deadline for the whole request, retries and backoff included. */
    totalMs: positiveMs.default(600_000),
  })
  .strict();

/**
 * A deployment's own timeouts: every per-attempt one. `totalMs` is not among them: it is the
 * deadline of the whole request, across every deployment and fallback it tries, so a value per
 * deployment has no meaning; it is refused by name rather than accepted and ignored.
 */
const partialTimeouts = z
  .object({
    connectMs: positiveMs,
    firstByteMs: positiveMs,
    firstContentMs: positiveMs,
    idleMs: positiveMs,
    poolQueueMs: positiveMs,
    totalMs: z.never({
      error: 'cannot be set per deployment: timeouts.totalMs is the deadline of the whole request, across every deployment it tries; bound one deployment with firstByteMs, firstContentMs and idleMs',
    }),
  })
  .partial()
  .strict();

const retrySchema = z
  .object({
    /** Attempts per model alias, the first one included (1 = no retries). */
    maxAttempts: z.number().int().min(1).max(10).default(3),
    /** Full-jitter exponential backoff between attempts on the same deployment. */
    baseDelayMs: delayMs.default(250),
    maxDelayMs: delayMs.default(4_000),
    /** Longest upstream `Retry-After` the gateway will wait out (if it also fits the deadline). */
    maxRetryAfterMs: delayMs.default(60_000),
    /** Cooldown for a deployment that answered 429 without a usable `Retry-After`. */
    defaultCooldownMs: delayMs.default(5_000),
    /**
     * Longest cooldown a provider's 429 can start, whatever its `Retry-After`, reset header or
     * RetryInfo says (`Retry-After: 99999999` once disabled a deployment for three years).
     */
    maxCooldownMs: positiveMs.default(defaultMaxCooldownMs),
    /** Retry budget: concurrent retries ≤ max(minConcurrent, budgetPercent% of active requests). */
    budgetPercent: z.number().min(0).max(100).default(20),
    budgetMinConcurrent: z.number().int().min(0).default(3),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.baseDelayMs > r.maxDelayMs) ctx.addIssue({ code: 'custom', path: ['baseDelayMs'], message: `must be ≤ maxDelayMs (${r.maxDelayMs})` });
  }, whenNumbers('baseDelayMs', 'maxDelayMs'));

const breakerSchema = z
  .object({
    failureThreshold: z.number().int().min(1).default(3),
    openMs: positiveMs.default(30_000),
    maxOpenMs: positiveMs.default(300_000),
    /** Each open period is scaled by a random factor in [1 - jitterRatio, 1 + jitterRatio]; below 1 so it never drops to 0. */
    jitterRatio: z.number().min(0).lt(1, 'must be < 1 (1 could make an open period 0 ms)').default(0.2),
    halfOpenProbes: z.number().int().min(1).max(3).default(1),
    probeTimeoutMs: positiveMs.default(30_000),
  })
  .strict()
  .superRefine(openMsWithinMax, whenNumbers('openMs', 'maxOpenMs'));

/**
 * Runs a cross-field rule whenever the fields it compares parsed as numbers, even if other
 * fields of the object failed, so check-config reports it together with everything else.
 */
function whenNumbers(...keys: string[]): { when: (payload: { value: unknown }) => boolean } {
  return {
    when: ({ value }) => value !== null && typeof value === 'object' && keys.every((k) => typeof (value as Record<string, unknown>)[k] === 'number'),
  };
}

/** Cross-field rule of every breaker block: the first open period cannot exceed the longest one. */
function openMsWithinMax(b: { readonly openMs: number; readonly maxOpenMs: number }, ctx: z.RefinementCtx): void {
  if (b.openMs > b.maxOpenMs) ctx.addIssue({ code: 'custom', path: ['openMs'], message: `must be ≤ maxOpenMs (${b.maxOpenMs})` });
}

/** The provider protocols a deployment can speak (docs/providers.md). */
export const providerNames = ['openai', 'vllm', 'azure', 'triton', 'gemini', 'ollama', 'bedrock', 'anthropic'] as const;

const awsSchema = z
  .object({
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as us-east-1'),
    accessKeyId: envRef,
    secretAccessKey: envRef,
    sessionToken: envRef.optional(),
  })
  .strict();

/** `deployments.<d>.metrics`: where and how often to scrape a self-hosted server's metrics. */
export const upstreamMetricsSchema = z
  .object({
    /** The server's Prometheus endpoint, e.g. http://vllm-0:8000/metrics (http or https, no credentials). */
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
      .refine((u) => !/^https?:\/\/[^/]*@/.test(u), 'must not contain credentials'),
    /** Which server's metric names to read; default by provider (`triton` for triton, else `vllm`). */
    format: z.enum(['vllm', 'triton']).optional(),
    intervalMs: z.number().int().min(100).max(60_000).default(1000),
    /** One scrape's deadline (connect, headers and body); at most `intervalMs`. */
    timeoutMs: z.number().int().min(10).max(60_000).default(500),
    /** A scrape older than this is ignored (default 3 × intervalMs). */
    staleAfterMs: z.number().int().min(100).max(600_000).optional(),
  })
  .strict()
  .refine((m) => m.timeoutMs <= m.intervalMs, { message: 'timeoutMs must not exceed intervalMs', path: ['timeoutMs'] });

const deploymentSchema = z
  .object({
    /** Wire protocol: `openai` (OpenAI and any compatible server), `vllm` (same protocol), `azure`, `triton`, `gemini`, `ollama`. */
    provider: z.enum(providerNames),
    /** Base URL including any path prefix, e.g. https://api.openai.com/v1 or http://triton:8000. */
    baseUrl: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL')
      .refine((u) => !/[?#]/.test(u), 'must not contain a query or fragment'),
    /** Sent as `Authorization: Bearer …`; must reference the environment. */
    apiKey: envRef.optional(),
    /**
     * Azure OpenAI classic surface: `api-version` to pin; without it the `/openai/v1` surface is used.
     * Anthropic: `anthropic-version`, `2023-06-01` (default, `x-api-key`) or `2026-10-21` (Bearer).
     */
    apiVersion: z.string().regex(/^[0-9A-Za-z.-]{1,40}$/, 'must look like 2024-10-21').optional(),
    /** AWS SigV4 signing: required for `bedrock`, refused for other providers. */
    aws: awsSchema.optional(),
    /** Connections this deployment may open (its own pool, not shared with other deployments). */
    maxConnections: z.number().int().min(1).max(10_000).default(64),
    /**
     * Share of `maxConnections` one tenant may hold at once (at least one connection), so one
     * tenant's slow streams leave connections for the others; its further calls wait (`poolQueueMs`).
     */
    tenantConnectionPercent: z.number().int().min(1).max(100).default(75),
    timeouts: partialTimeouts.optional(),
    /**
     * Whether content parts may carry URLs the upstream fetches itself (`image_url` links,
     * Anthropic `url` sources); `data:` URLs are always allowed. Default: see `allowsRemoteMedia`.
     */
    allowRemoteMedia: z.boolean().optional(),
    /**
     * Whether the deployment serves OpenAI's `/v1/responses` itself, so Responses requests go to
     * it unchanged rather than translated to chat. Default: see `servesResponsesApi`.
     */
    responsesApi: z.boolean().optional(),
    /**
     * Opt-in: scrape the server's own Prometheus metrics (vLLM, Triton) in the background, for the
     * load-aware strategies (docs/routing.md). Never on the request path; a stale or failing
     * scrape is ignored and the live signals route alone.
     */
    metrics: upstreamMetricsSchema.optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.responsesApi !== undefined && !responsesApiProviders.includes(d.provider)) {
      ctx.addIssue({ code: 'custom', path: ['responsesApi'], message: `provider ${d.provider} does not speak OpenAI's Responses API; only ${responsesApiProviders.join(', ')} deployments can set it` });
    }
    // Anthropic's version also selects the auth scheme, so only the two known ones are accepted.
    if (d.provider === 'anthropic' && d.apiVersion !== undefined && !anthropicApiVersions.includes(d.apiVersion)) {
      ctx.addIssue({ code: 'custom', path: ['apiVersion'], message: `must be one of ${anthropicApiVersions.join(', ')} for provider anthropic` });
    }
    if (d.provider === 'bedrock' && d.aws === undefined) ctx.addIssue({ code: 'custom', path: ['aws'], message: 'provider bedrock needs an aws block (region and keys) to sign requests' });
    if (d.provider !== 'bedrock' && d.aws !== undefined) ctx.addIssue({ code: 'custom', path: ['aws'], message: `only provider bedrock signs with AWS keys; provider ${d.provider} does not use them` });
    if (d.provider === 'bedrock' && d.apiKey !== undefined) ctx.addIssue({ code: 'custom', path: ['apiKey'], message: 'provider bedrock signs requests with the aws block; apiKey is not used' });
  });

/** Hosts of the vendors' own services: the only `openai`/`anthropic` base URLs that are not a self-hosted server. */
const vendorHosts: Readonly<Record<string, string>> = { openai: 'api.openai.com', anthropic: 'api.anthropic.com' };

/**
 * Whether a deployment accepts remote media URLs: its `allowRemoteMedia`, else the default by
 * provider. A self-hosted engine fetches URLs from inside the operator's network (SSRF), so
 * `vllm`, `ollama` and `triton` refuse them, as do `openai` and `anthropic` pointed anywhere but
 * the vendor's own host (those protocols are spoken by self-hosted servers too). Managed clouds
 * (`azure`, `gemini`, `bedrock`) fetch, if at all, from the vendor's network: allowed.
 */
export function allowsRemoteMedia(d: { readonly provider: (typeof providerNames)[number]; readonly baseUrl: string; readonly allowRemoteMedia?: boolean | undefined }): boolean {
  if (d.allowRemoteMedia !== undefined) return d.allowRemoteMedia;
  switch (d.provider) {
    case 'vllm':
    case 'ollama':
    case 'triton':
      return false;
    case 'openai':
    case 'anthropic':
      return new URL(d.baseUrl).hostname.toLowerCase() === vendorHosts[d.provider];
    case 'azure':
    case 'gemini':
    case 'bedrock':
      return true;
  }
}

/** The providers whose protocol is OpenAI's, and so may serve `/v1/responses` natively. */
const responsesApiProviders: readonly string[] = ['openai', 'azure', 'vllm'];

/**
 * Whether a deployment serves OpenAI's Responses API natively: its `responsesApi`, else true
 * for OpenAI's own host and for Azure OpenAI (both serve `/responses`; Azure pinned to an
 * api-version older than 2025-03-01-preview does not), false for vLLM and for
 * `openai` pointed at any other host (compatible servers rarely have it, or only a stateless
 * subset), and never for the other providers, whose requests are translated to chat.
 */
export function servesResponsesApi(d: { readonly provider: (typeof providerNames)[number]; readonly baseUrl: string; readonly apiVersion?: string | undefined; readonly responsesApi?: boolean | undefined }): boolean {
  if (!responsesApiProviders.includes(d.provider)) return false;
  if (d.responsesApi !== undefined) return d.responsesApi;
  if (d.provider === 'azure') return d.apiVersion === undefined || azureVersionHasResponses(d.apiVersion);
  return d.provider === 'openai' && new URL(d.baseUrl).hostname.toLowerCase() === vendorHosts.openai;
}

/**
 * Whether an Azure `api-version` has `/openai/responses`: the dated versions from
 * 2025-03-01-preview on (the first to have it), and the undated ones (`preview`, `latest`). An
 * older pinned version answers 404 there, so such a deployment translates to chat by default.
 */
function azureVersionHasResponses(apiVersion: string): boolean {
  const date = /^\d{4}-\d{2}-\d{2}/.exec(apiVersion)?.[0];
  return date === undefined || date >= '2025-03-01';
}

/** `anthropic-version` values a deployment may pin: 2023-06-01 uses `x-api-key`, 2026-10-21 Bearer auth. */
export const anthropicApiVersions: readonly string[] = ['2023-06-01', '2026-10-21'];

/** Dollars per million tokens: a number or a decimal string, at most 6 decimal places (money.ts). */
const usdPerMillion = z.union([z.number(), z.string()]).refine((v) => {
  try {
    perMillionToPicoPerToken(v);
    return true;
  } catch {
    return false;
  }
}, 'must be a non-negative number of US dollars per million tokens, at most 6 decimal places');

/** A target's price, overriding the catalogue (self-hosted: all zero, or your own rate). */
export const priceSchema = z
  .object({
    input: usdPerMillion,
    output: usdPerMillion,
    /** Prompt tokens read from the prompt cache; default: `input`. */
    cachedInput: usdPerMillion.optional(),
    /** Prompt tokens written to the prompt cache; default: `input`. */
    cacheWrite: usdPerMillion.optional(),
    /** Reasoning tokens; default: `output`. */
    reasoning: usdPerMillion.optional(),
  })
  .strict();

const targetSchema = z
  .object({
    deployment: name,
    /** The model name the upstream knows. */
    model: z.string().min(1).max(256),
    weight: z.number().positive().default(1),
    priority: z.number().int().min(0).default(0),
    /** Output-token cap sent when a request sets none, for providers that require one (Anthropic). */
    defaultMaxTokens: z.number().int().min(1).max(1_000_000).optional(),
    /** US dollars per million tokens; overrides the shipped price catalogue (docs/costs.md). */
    price: priceSchema.optional(),
    /** Most tokens (prompt + output) one request may have; overrides the catalogue's (strategy `cost`). */
    contextWindow: z.number().int().min(1).max(100_000_000).optional(),
  })
  .strict();

const strategySchema = z.enum(['round_robin', 'weighted', 'least_latency', 'priority', 'cost', 'least_loaded', 'prefix_affinity', 'predicted_latency']);

/**
 * `models.<a>.hedge`: when no first token (a stream's commit point; a JSON answer) has come from
 * the first attempt within `afterMs`, the same request starts on another deployment of the alias;
 * the first to answer wins and the other is aborted. Off unless set (docs/routing.md).
 */
export const hedgeSchema = z
  .object({
    /** A fixed wait in ms, or `p95`: the first deployment's observed p95 time to first token. */
    afterMs: z.union([z.number().int().min(1).max(600_000), z.literal('p95')]),
    /** Hedges at most this share of the alias's requests (a sliding window), so a slow fleet costs latency, not a storm. */
    maxPercent: z.number().min(0).max(100).default(10),
  })
  .strict();
export type HedgeConfig = z.infer<typeof hedgeSchema>;

const modelSchema = z
  .object({
    targets: z.array(targetSchema).min(1),
    /** Overrides `routing.strategy` for this alias. */
    strategy: strategySchema.optional(),
    hedge: hedgeSchema.optional(),
    /**
     * `predicted_latency` with SLO headers: what to do when no deployment is predicted to meet
     * the request's SLO. `least_bad` (default) routes to the closest; `shed` refuses it at once
     * (503 `slo_unattainable`, Retry-After) so a batch of doomed requests does not queue.
     */
    onSloMiss: z.enum(['least_bad', 'shed']).default('least_bad'),
    /** Aliases tried in order once every target of this one has failed. */
    fallbacks: z.array(name).default([]),
    /**
     * Whether a request that no target of this alias can express (a parameter its providers
     * refuse, e.g. `tools` on Triton) moves on to the fallbacks. Off by default: the client asked
     * for this model, so it gets the 400 naming the parameter rather than a silent model swap.
     */
    fallbackOnUnsupportedParameter: z.boolean().default(false),
    /** A cheaper alias served instead of this one once the caller's team has passed a soft budget limit (docs/budgets.md). */
    overBudget: name.optional(),
    /** Output tokens reserved against a token limit when the request sets no max_tokens. */
    defaultOutputReserve: z.number().int().min(0).default(1024),
    /** Shown in /v1/models. */
    ownedBy: z.string().max(64).default('llm-gateway'),
  })
  .strict();

/** What a limit does while the shared state backend (Redis) cannot be reached. */
const failureModeSchema = z.enum(['open', 'closed']);

const bucketSchema = z
  .object({
    capacity: z.number().positive(),
    refillPerSecond: z.number().positive(),
    /** Overrides `state.failureMode` for this limit. */
    failureMode: failureModeSchema.optional(),
  })
  .strict();

export const concurrencySchema = z
  .object({
    /** Requests of this tenant in flight at once, across every replica. */
    maxInFlight: z.number().int().min(1),
    /** Overrides `state.failureMode` for this limit. */
    failureMode: failureModeSchema.optional(),
  })
  .strict();

export const limitsSchema = z
  .object({
    /** Request token bucket per tenant and model. */
    requests: bucketSchema.optional(),
    /** LLM-token bucket per tenant and model (prompt + completion tokens). */
    tokens: bucketSchema.optional(),
  })
  .strict();

const usdAmount = z.union([z.number(), z.string()]).refine((v) => {
  try {
    usdToPico(v);
    return true;
  } catch {
    return false;
  }
}, 'must be a non-negative number of US dollars, at most 12 decimal places');

/**
 * One spend budget (docs/budgets.md): a UTC window and a hard limit (refused at admission), a
 * soft limit (an alert), or both. Teams and keys have a list of them.
 */
export const budgetSchema = z
  .object({
    /** `daily`, `weekly` (from Monday 00:00 UTC), `monthly` (UTC calendar month) or `lifetime`. */
    period: z.enum(['daily', 'weekly', 'monthly', 'lifetime']),
    /** Hard limit in US dollars: a request whose worst-case cost does not fit is refused (429). */
    limitUsd: usdAmount.optional(),
    /** Soft limit in US dollars: crossing it logs, counts and calls `budgets.webhook`. */
    softLimitUsd: usdAmount.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.limitUsd === undefined && b.softLimitUsd === undefined) ctx.addIssue({ code: 'custom', message: 'a budget needs limitUsd, softLimitUsd or both' });
    else if (b.limitUsd !== undefined && b.softLimitUsd !== undefined && safePico(b.softLimitUsd) > safePico(b.limitUsd)) {
      ctx.addIssue({ code: 'custom', path: ['softLimitUsd'], message: 'softLimitUsd must not exceed limitUsd' });
    }
  });

/** At most one budget per period: two daily budgets would only mean the lower one. */
export const budgetsSchema = z
  .array(budgetSchema)
  .max(4)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((b, i) => {
      if (seen.has(b.period)) ctx.addIssue({ code: 'custom', path: [i, 'period'], message: `more than one ${b.period} budget` });
      seen.add(b.period);
    });
  });

/** A per-request cost ceiling in US dollars (docs/budgets.md). */
export const maxCostUsdSchema = usdAmount;

function safePico(v: string | number): bigint {
  try {
    return usdToPico(v);
  } catch {
    return 0n;
  }
}

const tenantKeySchema = z.union([
  z.string().min(1),
  z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters') }).strict(),
]);

/**
 * Whether a team's prompts and completions are stored with its request-log rows (off unless a
 * team opts in): capped, redacted before they are written, and deleted after their retention.
 */
export const payloadsSchema = z
  .object({
    store: z.boolean().default(false),
    /** Each of the request body and the response is cut to this many bytes (UTF-16 code units). */
    maxBytes: z.number().int().min(256).max(262_144).default(16_384),
    /** Days a stored payload is kept; a deletion job removes older ones hourly. */
    retentionDays: z.number().int().min(1).max(365).default(7),
    /** Regular expressions (JavaScript syntax, run in linear time); every match becomes [REDACTED]. */
    redact: z
      .array(z.string().superRefine((p, ctx) => {
        const problem = redactionProblem(p);
        if (problem) ctx.addIssue({ code: 'custom', message: `not a usable redaction pattern: ${problem}` });
      }))
      .max(MAX_PATTERNS)
      .default([]),
  })
  .strict();

const prioritySchema = z.enum(['high', 'normal', 'low']);
const priorityRank = { high: 0, normal: 1, low: 2 } as const;

/**
 * A tenant's place in the queues (docs/queueing.md): its weight against other tenants of the
 * same priority class, the class its requests get by default, and the highest one its
 * `x-gateway-priority` header may ask for.
 */
export const tenantQueueSchema = z
  .object({
    /** Turns per round against other tenants of the same class (1–100). */
    weight: z.number().int().min(1).max(100).default(1),
    /** The class of this tenant's requests when they do not ask for one. */
    priority: prioritySchema.default('normal'),
    /** The highest class the `x-gateway-priority` header may ask for (a higher ask is lowered to it). Default: `priority`, or `normal` if lower. */
    maxPriority: prioritySchema.optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.maxPriority !== undefined && priorityRank[q.priority] < priorityRank[q.maxPriority]) ctx.addIssue({ code: 'custom', path: ['priority'], message: 'must not be above maxPriority' });
  });

/**
 * Waiting instead of a 429/503 (docs/queueing.md): for a tenant concurrency slot, a deployment's
 * connection, a deployment cooling down. Off by default (`maxWaitMs: 0`): refused at once, as
 * without a queue.
 */
const queueSchema = z
  .object({
    /** Longest a request waits for a concurrency slot or a cooldown to end (always within its deadline); also the longest wait for a connection when above `timeouts.poolQueueMs`. 0: no waiting. */
    maxWaitMs: delayMs.default(0),
    /** Requests of one tenant waiting at once in one process, per queue. */
    maxPerTenant: z.number().int().min(1).max(100_000).default(100),
    /** Requests waiting at once in one process, per queue. */
    maxTotal: z.number().int().min(1).max(1_000_000).default(1_000),
    /** Mean interval at which a waiting process asks again for slots freed elsewhere (Redis, `--workers`) or by requests admitted while the queue was off (jittered ±50 %). */
    pollMs: z.number().int().min(5).max(10_000).default(50),
  })
  .strict();

const tenantSchema = z
  .object({
    /** Bearer keys: plain (or `${env:…}`), or `{sha256: <hex digest>}` so the file holds no key. */
    keys: z.array(tenantKeySchema).min(1),
    /** Model aliases this tenant may use; `["*"]` for all. */
    models: z.array(z.string().min(1)).min(1).default(['*']),
    /** Limits applied to each model separately. */
    limits: limitsSchema.optional(),
    /** Per-model overrides of `limits`. */
    modelLimits: z.record(name, limitsSchema).optional(),
    /** In-flight requests of this tenant, all models together. */
    concurrency: concurrencySchema.optional(),
    /** Spend budgets of this tenant, all its keys and models together (docs/budgets.md). */
    budgets: budgetsSchema.optional(),
    /** Most a single request may cost in US dollars, worst case (docs/budgets.md). */
    maxCostPerRequestUsd: maxCostUsdSchema.optional(),
    /** Store this tenant's prompts and completions in the request log (opt-in). */
    payloads: payloadsSchema.optional(),
    /** Weight and priority classes in the queues (docs/queueing.md). */
    queue: tenantQueueSchema.optional(),
  })
  .strict();

const serverSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(8080),
    bodyLimitBytes: z.number().int().positive().default(10 * 1024 * 1024),
    /** Time allowed to receive request headers (slowloris guard). */
    headersTimeoutMs: positiveMs.default(15_000),
    /** Time allowed to receive the whole request; does not limit long responses. */
    requestTimeoutMs: positiveMs.default(60_000),
    /** Keep longer than your load balancer's idle timeout. */
    keepAliveTimeoutMs: positiveMs.default(65_000),
    maxHeaderBytes: z.number().int().positive().default(16 * 1024),
    /**
     * Open client connections at most; more are closed on accept. Lowered at start to 75 % of the
     * open-files limit (ulimit -n) when that is smaller, so a flood cannot exhaust descriptors.
     */
    maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
    /**
     * Response bytes handed to client sockets and not yet taken by the kernel, summed over every
     * response larger than 64 KiB (written in pieces): a piece that does not fit waits, up to
     * the stall timeout (timeouts.idleMs), for one that drains.
     */
    maxBytesInFlight: z.number().int().min(64 * 1024).default(64 * 1024 * 1024),
    /**
     * A separate operator listener for /metrics (and the admin API to come). Without `port`,
     * /metrics is served on the data-plane port; with it, only there. `bearerToken` (an env
     * reference) makes /metrics require `Authorization: Bearer <token>` wherever it is served.
     */
    metrics: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).optional(),
        bearerToken: envRef.optional(),
      })
      .strict()
      .prefault({}),
    /** A new connection silent this long before its first request is closed (any byte restarts the count). */
    idleConnectionTimeoutMs: positiveMs.default(10_000),
    /**
     * Drain: after SIGTERM, /ready fails at once but the listener keeps accepting for this long,
     * so load balancers see the failing probe and stop sending before connections are refused.
     */
    drainDelayMs: delayMs.default(5_000),
    /**
     * Drain: from SIGTERM, how long in-flight requests and streams may run; streams still open
     * then get one SSE error event (no [DONE]) and other requests a 503, then the process exits.
     */
    shutdownGraceMs: positiveMs.default(30_000),
  })
  .strict()
  .superRefine((s, ctx) => {
    // Node refuses to create a server whose headers timeout exceeds its request timeout.
    if (s.headersTimeoutMs > s.requestTimeoutMs) ctx.addIssue({ code: 'custom', path: ['headersTimeoutMs'], message: `must be ≤ requestTimeoutMs (${s.requestTimeoutMs})` });
    // Read defensively: this rule also runs when other server fields failed.
    const metricsPort = (s.metrics as { port?: unknown } | undefined)?.port;
    if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === s.port) {
      ctx.addIssue({ code: 'custom', path: ['metrics', 'port'], message: `must differ from server.port (${s.port}): the operator listener is a second listener` });
    }
  }, whenNumbers('headersTimeoutMs', 'requestTimeoutMs', 'port'));

const loggingSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** `auto`: pretty lines on a terminal, JSON otherwise. */
    format: z.enum(['auto', 'json', 'pretty']).default('auto'),
  })
  .strict();

/** `redis://[user:password@]host:port[/db]`, `rediss://…`, or an `${env:NAME}` holding one. */
const redisUrl = z
  .string()
  .refine((u) => envRefPattern.test(u) || isRedisUrl(u), 'must be a redis:// or rediss:// URL, or an environment reference such as ${env:REDIS_URL}');

/** A URL the Redis client can connect to (the client parses it, and throws on a malformed one). */
export function isRedisUrl(value: string): boolean {
  return /^rediss?:\/\/\S+$/.test(value) && URL.canParse(value);
}

const redisBreakerSchema = z
  .object({
    /** Consecutive failed Redis calls (timeouts, connection errors) that open the breaker. */
    failureThreshold: z.number().int().min(1).default(3),
    /** How long Redis is not even tried once the breaker opens; grows with repeated openings. */
    openMs: positiveMs.default(1_000),
    maxOpenMs: positiveMs.default(10_000),
  })
  .strict()
  .superRefine(openMsWithinMax, whenNumbers('openMs', 'maxOpenMs'));

const redisSchema = z
  .object({
    url: redisUrl,
    /** `standalone`, or `cluster` (url names one seed node; keys carry hash tags so each script stays in one slot). */
    mode: z.enum(['standalone', 'cluster']).default('standalone'),
    /** Prefix of every key and channel, so several gateways (or tests) can share one Redis. */
    keyPrefix: z.string().regex(/^[A-Za-z0-9._:-]{0,64}$/, 'must be 0-64 ASCII letters, digits or . _ : -').default('llmgw:'),
    /**
     * The connection is declared dead (Redis breaker opens at once) when commands are waiting and
     * no reply at all has arrived for this long, counting only time this process's event loop was
     * running. A slow reply alone never fails a command (redis-connection.ts).
     */
    stallMs: positiveMs.min(50).default(300),
    /** Deprecated, ignored: accepted so that existing configs still load (replaced by stallMs). */
    commandTimeoutMs: positiveMs.optional(),
    connectTimeoutMs: positiveMs.default(1_000),
    /** Longest wait between reconnection attempts (backoff starts at 100 ms and doubles). */
    maxReconnectDelayMs: positiveMs.default(2_000),
    breaker: redisBreakerSchema.default(redisBreakerSchema.parse({})),
  })
  .strict();

/** `postgres://user:password@host:port/db` (or `postgresql://`), or an `${env:NAME}` holding one. */
const postgresUrl = z
  .string()
  .refine((u) => envRefPattern.test(u) || isPostgresUrl(u), 'must be a postgres:// or postgresql:// URL, or an environment reference such as ${env:DATABASE_URL}');

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\/\S+$/.test(value) && URL.canParse(value);
}

/**
 * The control plane's PostgreSQL (keys, teams, users, audit). Used when the control plane is on
 * (an `admin` block, or this block): with `url` (else the `DATABASE_URL` environment variable) a
 * server shared by every replica; without either, the embedded database (PGlite) in `dataDir`.
 */
const databaseSchema = z
  .object({
    url: postgresUrl.optional(),
    /**
     * The embedded database's directory, relative to the working directory; `:memory:` for a
     * throw-away one (tests, the demo). One process at a time: a second is refused.
     */
    dataDir: z.string().min(1).default('./llm-gateway-data'),
    /** Connections to the server for queries (one more listens for changes). */
    poolSize: z.number().int().min(1).max(100).default(4),
    connectTimeoutMs: positiveMs.default(2_000),
    /** Longest any query may run (server-side statement_timeout, and the client's deadline). */
    statementTimeoutMs: positiveMs.default(5_000),
    /** Full resync period: the safety net under change notifications (LISTEN/NOTIFY). */
    resyncMs: positiveMs.min(1_000).default(30_000),
    /** How often keys' `lastUsedAt` is written, in one batch; a crash loses at most this much of it. */
    lastUsedFlushMs: positiveMs.min(1_000).default(10_000),
  })
  .strict();

/**
 * The request log (one row per API request, in the control plane's database) and the daily spend
 * built from it. On when the control plane is on; `enabled: false` turns it off.
 */
const requestLogSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Buffered rows are written this often; a crash loses at most this much of the log. */
    flushMs: positiveMs.min(100).max(60_000).default(1_000),
    /** Rows per INSERT; a buffer this full is written at once. */
    batchRows: z.number().int().min(1).max(10_000).default(1_000),
    /** Rows held in memory while the database cannot take them; the rest go to the spool. */
    maxBufferRows: z.number().int().min(1).max(1_000_000).default(10_000),
    /**
     * Where rows wait on disk while the database is down (shareable: each process writes back
     * only its own files and those of processes that are gone).
     * Unset: `./llm-gateway-spool`, or a temporary directory with the `:memory:` database.
     */
    spoolDir: z.string().min(1).optional(),
    /** The spool's size cap; rows beyond it are dropped (and counted). */
    maxSpoolBytes: z.number().int().min(1_048_576).default(268_435_456),
    /** Days of request log kept (whole days' partitions are dropped); the daily spend is kept. */
    retentionDays: z.number().int().min(1).max(3_650).default(30),
  })
  .strict();

const stateSchema = z
  .object({
    /** Where limits and cooldowns live: `memory` (one process) or `redis` (shared by replicas). */
    backend: z.enum(['memory', 'redis']).default('memory'),
    redis: redisSchema.optional(),
    /** Default failure mode of every limit while Redis is unavailable. */
    failureMode: failureModeSchema.default('open'),
    /** Replicas sharing the limits: a fail-open replica enforces limit ÷ this locally. */
    expectedReplicas: z.number().int().min(1).max(10_000).default(1),
    /** Concurrency slots are leases renewed while held; a crashed replica's slots expire after this. */
    leaseMs: positiveMs.min(1_000).default(30_000),
    database: databaseSchema.optional(),
  })
  .strict()
  .refine((s) => s.backend !== 'redis' || s.redis !== undefined, { message: 'backend redis needs state.redis.url', path: ['redis'] });

/**
 * The admin API (`/admin/v1/`: teams, keys, users, audit). Its presence turns the control plane
 * on (see `state.database`). Without `port`, served on the data-plane listener.
 */
const adminSchema = z
  .object({
    /** A listener of its own for the admin API, so it need not be exposed with the data plane. */
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).optional(),
    /**
     * A credential with the admin role, from the environment (e.g. `${env:GATEWAY_ADMIN_KEY}`),
     * for creating the first teams and keys; every use is audited. At least 32 characters.
     */
    bootstrapKey: envRef.optional(),
    /** After `POST /admin/v1/keys/{id}/rotate`, how long the old secret keeps working. */
    rotationGraceMs: delayMs.default(86_400_000),
  })
  .strict();

/**
 * The Batch API (`/v1/files`, `/v1/batches`, docs/batches.md). It is served whenever the control
 * plane is on (`admin` or `state.database`): its files and job records live in the control
 * plane's database. Without it those routes answer 404 saying so.
 */
const batchesSchema = z
  .object({
    /** Largest upload to `/v1/files`, in bytes. */
    maxFileBytes: z.number().int().min(1_024).max(209_715_200).default(52_428_800),
    /** Most requests (lines) in one batch input file. */
    maxLines: z.number().int().min(1).max(50_000).default(50_000),
    /** Items this replica runs at once (at low priority: live requests go first). */
    concurrency: z.number().int().min(1).max(1_000).default(8),
    /** Items this replica runs at once while live API requests are in flight in it (≤ concurrency). */
    concurrencyWhileBusy: z.number().int().min(1).max(1_000).default(1),
    /** Runs of one item before it is dead-lettered, when it fails for a reason a retry may fix (429, 5xx, timeouts). */
    maxAttempts: z.number().int().min(1).max(20).default(3),
    /** Wait before an item's next run: this, doubling per run, with jitter (at most 5 minutes). */
    retryBackoffMs: positiveMs.max(300_000).default(2_000),
    /** A running item's claim; a replica that died gives its items back after at most this. */
    leaseMs: positiveMs.min(1_000).max(600_000).default(30_000),
    /** Days an uploaded file and a batch's output and error files are kept (1–365). */
    fileRetentionDays: z.number().int().min(1).max(365).default(30),
  })
  .strict();

/**
 * Stored responses of `/v1/responses` (docs/responses.md): in the control plane's database when it
 * is on, else in a bounded map in each gateway process.
 */
const responsesSchema = z
  .object({
    /** Days a stored response is kept (OpenAI keeps them 30). */
    retentionDays: z.number().int().min(1).max(365).default(30),
    /** How long the answer waits for its response to be stored; past it, the answer is sent unstored. */
    saveTimeoutMs: positiveMs.max(60_000).default(2_000),
    /** Without a control plane: responses kept in this process at most (the oldest go first). */
    memoryMaxResponses: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Without a control plane: bytes of stored responses kept in this process at most (the oldest go first). */
    memoryMaxBytes: z.number().int().min(1_048_576).max(17_179_869_184).default(67_108_864),
  })
  .strict();

const budgetWebhookSchema = z
  .object({
    /** Where soft-limit alerts are POSTed; may be `${env:…}` (a Slack-style URL is a secret). */
    url: z.string().min(1).max(2048),
    /** Extra request headers (e.g. `authorization: ${env:BUDGET_HOOK_AUTH}`); each value plain or one environment reference. */
    headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'must be an HTTP header name'), z.string().max(4096)).default({}),
    /** Time allowed for one delivery attempt (connect, send, answer). */
    timeoutMs: positiveMs.default(5_000),
    /** Attempts per alert, the first included; retried with exponential backoff on errors, timeouts, 408, 429 and 5xx. */
    maxAttempts: z.number().int().min(1).max(20).default(5),
    /** Alerts waiting to be sent, at most; more are dropped (and counted) rather than held without bound. */
    queueSize: z.number().int().min(1).max(100_000).default(1_000),
  })
  .strict();

const budgetsSettingsSchema = z
  .object({
    /** Soft-limit alerts by HTTP POST (docs/budgets.md). */
    webhook: budgetWebhookSchema.optional(),
  })
  .strict();

/**
 * Traces over OTLP/HTTP (docs/tracing.md). Every key may be left out: the standard `OTEL_*`
 * environment variable fills it, else the default in docs/configuration.md. A key set here wins
 * over the environment.
 */
const tracingSchema = z
  .object({
    /** Export traces. Unset: on when `OTEL_TRACES_EXPORTER=otlp`, off otherwise (and off with `OTEL_SDK_DISABLED=true`). */
    enabled: z.boolean().optional(),
    /** The collector's traces URL (`http://host:4318/v1/traces`), used as written; may be `${env:…}`. */
    endpoint: z.string().min(1).max(2048).optional(),
    /** OTLP over HTTP: `http/protobuf` or `http/json` (gRPC is not supported). */
    protocol: z.enum(['http/protobuf', 'http/json']).optional(),
    /** Extra request headers for the collector (e.g. `authorization: ${env:OTLP_AUTH}`); values plain or one environment reference, never logged. */
    headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'must be an HTTP header name'), z.string().max(4096)).optional(),
    /** Share of new traces sampled (0–1); a request with a client `traceparent` follows the client's sampled flag (parent-based). */
    samplingRatio: z.number().min(0).max(1).optional(),
    /** `service.name` of the spans. */
    serviceName: z.string().min(1).max(256).optional(),
    /** Ended spans waiting for export, at most; more are dropped and counted, never waited for. */
    maxQueueSize: z.number().int().min(1).max(1_000_000).optional(),
    /** Spans per export request (capped at `maxQueueSize`). */
    maxExportBatchSize: z.number().int().min(1).max(1_000_000).optional(),
    /** How often queued spans are exported. */
    scheduledDelayMs: positiveMs.optional(),
    /** Time allowed for one export request; spans of a failed or timed-out export are dropped and counted. */
    exportTimeoutMs: positiveMs.optional(),
  })
  .strict();

export const configSchema = z
  .object({
    server: serverSchema.default(serverSchema.parse({})),
    logging: loggingSchema.default(loggingSchema.parse({})),
    routing: z.object({ strategy: strategySchema.default('round_robin') }).strict().prefault({}),
    retry: retrySchema.default(retrySchema.parse({})),
    timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
    circuitBreaker: breakerSchema.default(breakerSchema.parse({})),
    deployments: z.record(name, deploymentSchema),
    models: z.record(name, modelSchema),
    tenants: z.record(name, tenantSchema).default({}),
    /** Waiting for a slot, a connection or a cooldown instead of a 429/503 (off by default). */
    queue: queueSchema.default(queueSchema.parse({})),
    /** Settings of spend budgets (the budgets themselves are on tenants, teams and keys). */
    budgets: budgetsSettingsSchema.default(budgetsSettingsSchema.parse({})),
    state: stateSchema.default(stateSchema.parse({})),
    admin: adminSchema.optional(),
    requestLog: requestLogSchema.default(requestLogSchema.parse({})),
    /** The Batch API's limits and runner (served whenever the control plane is on). */
    batches: batchesSchema.default(batchesSchema.parse({})),
    /** Stored responses of /v1/responses: retention and, without a control plane, the in-process bounds. */
    responses: responsesSchema.default(responsesSchema.parse({})),
    /** Company sign-in: JWT access tokens from an OIDC identity provider, on the data plane and the admin API. */
    identity: identitySchema.optional(),
    /** OpenTelemetry traces (off by default). */
    tracing: tracingSchema.prefault({}),
  })
  .strict()
  // Runs even when other parts failed, so a reference to an undefined name is reported with them.
  .superRefine(
    (c, ctx) => {
      for (const issue of crossReferenceIssues(c)) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
    },
    { when: () => true },
  );

/** The config as written (defaults applied, env references not yet resolved). */
export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type DeploymentConfig = ParsedConfig['deployments'][string];
export type ModelConfig = ParsedConfig['models'][string];
export type TenantConfig = ParsedConfig['tenants'][string];
export type LimitsConfig = z.output<typeof limitsSchema>;
export type TimeoutsConfig = z.output<typeof timeoutsSchema>;
export type RetryConfig = z.output<typeof retrySchema>;
export type BreakerConfig = z.output<typeof breakerSchema>;
export type StateConfig = z.output<typeof stateSchema>;
export type RedisConfig = z.output<typeof redisSchema>;
export type FailureMode = z.output<typeof failureModeSchema>;
export type ConcurrencyConfig = z.output<typeof concurrencySchema>;
export type DatabaseConfig = z.output<typeof databaseSchema>;
export type AdminConfig = z.output<typeof adminSchema>;
export type RequestLogConfig = z.output<typeof requestLogSchema>;
export type PayloadsConfig = z.output<typeof payloadsSchema>;
export type PriceConfig = z.output<typeof priceSchema>;
export type BudgetConfig = z.output<typeof budgetSchema>;
export type BudgetWebhookConfig = z.output<typeof budgetWebhookSchema>;
export type TracingConfig = z.output<typeof tracingSchema>;
export type BatchesConfig = z.output<typeof batchesSchema>;
export type ResponsesConfig = z.output<typeof responsesSchema>;
export type QueueConfig = z.output<typeof queueSchema>;
export type TenantQueueConfig = z.output<typeof tenantQueueSchema>;
