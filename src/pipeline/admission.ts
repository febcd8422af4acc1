import type { UsageRecord } from '../api/chat-types.js';
import type { Principal } from '../auth/principal.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { GatewayEvents } from '../observability/events.js';
import type { BucketSpec, BucketState, LimitCheck, RateLimiter } from '../ratelimit/limiter.js';
import type { RuntimeModel } from '../routing/runtime-types.js';
import { formatResetDuration } from './rate-limit-headers.js';

/** An admitted request's hold on its limits; `settle` reconciles the token reservation once. */
export interface Ticket {
  /** `x-ratelimit-*` headers describing the buckets after admission. */
  readonly headers: Readonly<Record<string, string>>;
  /** Charges actual usage against the token reservation (refunding or adding the difference). */
  settle(usage: UsageRecord | undefined): void;
}

const noLimits: Ticket = { headers: {}, settle: () => undefined };

/**
 * Admission control: the tenant's request and token buckets for this model, checked together.
 * Tokens are reserved up front (prompt estimate + n × max output) and reconciled with real
 * usage when the request ends (reliability.md "Reserve, then reconcile").
 */
export class Admission {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly events: GatewayEvents,
  ) {}

  /**
   * Admits or throws rate_limit_exceeded (429 with Retry-After) / invalid_request (400, can never
   * fit). `outputTokens` is what to reserve for the answer (n × max output, or the model default).
   */
  async admit(principal: Principal, model: RuntimeModel, tokens: { promptTokens: number; outputTokens: number }): Promise<Ticket> {
    const { promptTokens } = tokens;
    const limits = principal.limitsFor(model.alias);
    if (!limits || (!limits.requests && !limits.tokens)) return noLimits;
    const checks: LimitCheck[] = [];
    const base = `${principal.tenant}|${model.alias}`;
    if (limits.requests) checks.push({ key: `${base}|requests`, kind: 'requests', bucket: limits.requests, cost: 1 });
    const reserved = promptTokens + tokens.outputTokens;
    if (limits.tokens) checks.push({ key: `${base}|tokens`, kind: 'tokens', bucket: limits.tokens, cost: reserved });
    const decision = await this.limiter.consume(checks);
    for (const c of checks) {
      const allowed = decision.allowed || decision.rejectedBy !== c.kind;
      this.events.rateLimitDecision({ tenant: principal.tenant, model: model.alias, kind: c.kind, allowed });
    }
    const headers = rateLimitHeaders(decision.states);
    if (!decision.allowed) {
      if (decision.impossible) {
        throw new GatewayError('invalid_request', `This request reserves ${reserved} tokens (prompt estimate plus max output), more than your token limit for '${model.alias}' can ever hold. Lower max_tokens or shorten the prompt.`, { param: 'max_tokens', headers });
      }
      throw new GatewayError('rate_limit_exceeded', `Rate limit reached for '${model.alias}' (${decision.rejectedBy ?? 'requests'}). Retry after the time given in Retry-After.`, {
        retryAfterMs: decision.retryAfterMs,
        headers,
        type: 'rate_limit_error',
      });
    }
    const tokenBucket = limits.tokens;
    if (!tokenBucket) return { headers, settle: () => undefined };
    return { headers, settle: once((usage) => this.#reconcile(`${base}|tokens`, tokenBucket, reserved, promptTokens, usage)) };
  }

  #reconcile(key: string, bucket: BucketSpec, reserved: number, promptTokens: number, usage: UsageRecord | undefined): void {
    // Without any usage we still charge the prompt estimate: never silently zero.
    const actual = usage ? usage.promptTokens + usage.completionTokens : promptTokens;
    if (actual !== reserved) void this.limiter.adjust(key, bucket, actual - reserved).catch(() => undefined);
  }
}

function rateLimitHeaders(states: readonly BucketState[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (const s of states) {
    h[`x-ratelimit-limit-${s.kind}`] = String(Math.floor(s.limit));
    h[`x-ratelimit-remaining-${s.kind}`] = String(s.remaining);
    h[`x-ratelimit-reset-${s.kind}`] = formatResetDuration(s.resetMs);
  }
  return h;
}

function once(fn: (usage: UsageRecord | undefined) => void): (usage: UsageRecord | undefined) => void {
  let called = false;
  return (usage) => {
    if (called) return;
    called = true;
    fn(usage);
  };
}
