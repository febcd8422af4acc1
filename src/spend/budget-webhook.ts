/**
 * Soft-limit alerts by HTTP POST (config `budgets.webhook`, docs/budgets.md). Never on a
 * request's path: a crossing is put on a bounded queue and sent by one background loop, one
 * alert at a time, each attempt bounded by `timeoutMs`, failures retried `maxAttempts` times with
 * exponential backoff and jitter. A full queue drops the new alert (counted and logged). The URL
 * and header values are Secrets: they are never logged, and errors are reported by kind only.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { sleep } from '../clock.js';
import type { ResolvedBudgetWebhook } from '../config/load.js';
import type { BudgetSoftLimitEvent } from '../observability/events.js';
import { undici } from '../lazy-packages.js';
import { formatUsd } from './money.js';

/** What the receiver gets (docs/budgets.md, "The webhook"). Money as exact decimal strings. */
export interface SoftLimitPayload {
  readonly type: 'budget.soft_limit_crossed';
  /** Unique per alert; also sent as `idempotency-key`, the same on every retry. */
  readonly id: string;
  readonly occurred_at: string;
  readonly team: string;
  readonly scope: string;
  readonly scope_type: 'team' | 'key';
  readonly period: string;
  readonly window_start: string;
  readonly window_end: string | null;
  readonly spent_usd: string;
  readonly soft_limit_usd: string;
  readonly limit_usd: string | null;
}

export type WebhookResult = 'delivered' | 'failed' | 'dropped';

export interface BudgetWebhookDeps {
  readonly logger: Logger;
  /** Delivery outcomes, for the metric. */
  readonly onResult?: (result: WebhookResult) => void;
  readonly wallMs?: () => number;
  /** First retry delay; doubles per attempt (with jitter), capped at 30 s. Tests shorten it. */
  readonly backoffMs?: number;
}

const MAX_BACKOFF_MS = 30_000;

export class BudgetWebhook {
  readonly #config: ResolvedBudgetWebhook;
  readonly #deps: BudgetWebhookDeps;
  readonly #queue: SoftLimitPayload[] = [];
  readonly #stop = new AbortController();
  readonly #request: typeof import('undici').request;
  #running: Promise<void> | undefined;

  constructor(config: ResolvedBudgetWebhook, deps: BudgetWebhookDeps) {
    this.#config = config;
    this.#deps = deps;
    // Loaded when a webhook is configured, at start: never by the first alert.
    this.#request = undici().request;
  }

  /** The event sink: queues the alert and returns at once. */
  budgetSoftLimitCrossed(e: BudgetSoftLimitEvent): void {
    if (this.#stop.signal.aborted) return;
    if (this.#queue.length >= this.#config.queueSize) {
      this.#deps.onResult?.('dropped');
      this.#deps.logger.warn({ team: e.tenant, budget: e.scope, queueSize: this.#config.queueSize }, 'budget webhook queue full; alert dropped');
      return;
    }
    this.#queue.push(payloadOf(e, this.#deps.wallMs?.() ?? Date.now()));
    this.#running ??= this.#drain().finally(() => (this.#running = undefined));
  }

  /** Alerts waiting (not counting the one being sent). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Stops sending: the attempt in flight is aborted, queued alerts are dropped (logged with their count). */
  async close(): Promise<void> {
    this.#stop.abort();
    if (this.#queue.length > 0) this.#deps.logger.warn({ alerts: this.#queue.length }, 'budget webhook: alerts not sent at shutdown');
    this.#queue.length = 0;
    await this.#running;
  }

  async #drain(): Promise<void> {
    for (let next = this.#queue.shift(); next && !this.#stop.signal.aborted; next = this.#queue.shift()) await this.#deliver(next);
  }

  async #deliver(payload: SoftLimitPayload): Promise<void> {
    const body = JSON.stringify(payload);
    const base = this.#deps.backoffMs ?? 500;
    let problem = '';
    for (let attempt = 1; attempt <= this.#config.maxAttempts; attempt++) {
      const outcome = await this.#attempt(body, payload.id);
      if (outcome === 'ok') {
        this.#deps.onResult?.('delivered');
        return;
      }
      problem = outcome.problem;
      if (!outcome.retry || attempt === this.#config.maxAttempts) break;
      const delay = Math.min(MAX_BACKOFF_MS, base * 2 ** (attempt - 1));
      try {
        await sleep(delay / 2 + Math.random() * (delay / 2), this.#stop.signal);
      } catch {
        return; // closing
      }
    }
    this.#deps.onResult?.('failed');
    // Which alert and why, by kind: never the URL or a header.
    this.#deps.logger.warn({ alert: payload.id, team: payload.team, budget: payload.scope, problem }, 'budget webhook delivery failed; alert given up');
  }

  async #attempt(body: string, id: string): Promise<'ok' | { retry: boolean; problem: string }> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.#config.headers)) headers[name] = value.reveal();
    headers['content-type'] = 'application/json';
    headers['idempotency-key'] = id;
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#config.timeoutMs)]);
    try {
      const res = await this.#request(this.#config.url.reveal(), { method: 'POST', headers, body, signal, headersTimeout: this.#config.timeoutMs, bodyTimeout: this.#config.timeoutMs });
      // The answer's body is not needed; read a little to free the connection, then stop.
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      if (res.statusCode >= 200 && res.statusCode < 300) return 'ok';
      const retry = res.statusCode === 408 || res.statusCode === 429 || res.statusCode >= 500;
      return { retry, problem: `status ${res.statusCode}` };
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || /timeout/i.test(err.name) || (err as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT');
      return { retry: true, problem: timedOut ? 'timeout' : errorKind(err) };
    }
  }
}

function payloadOf(e: BudgetSoftLimitEvent, nowMs: number): SoftLimitPayload {
  return {
    type: 'budget.soft_limit_crossed',
    id: randomUUID(),
    occurred_at: new Date(nowMs).toISOString(),
    team: e.tenant,
    scope: e.scope,
    scope_type: e.scopeType,
    period: e.period,
    window_start: e.windowStart,
    window_end: e.windowEnd ?? null,
    spent_usd: formatUsd(e.spentPico),
    soft_limit_usd: formatUsd(e.softLimitPico),
    limit_usd: e.limitPico === undefined ? null : formatUsd(e.limitPico),
  };
}

/** An error's code (ECONNREFUSED…) or class name: never its message, which may quote the URL. */
function errorKind(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code)) return code;
  return err instanceof Error ? err.name : 'error';
}
