import type { AttemptEvent, AttemptLogEntry, RequestFinishedEvent } from '../../observability/events.js';
import { storableText } from '../audit.js';
import { requestIdTime } from '../../http/request-id.js';
import { redact } from './redact.js';
import type { RequestDetail } from '../store/schema.js';

/**
 * One request-log row as the ledger holds it: in the buffer, in the spool file (a JSON line) and
 * in the INSERT's parameter. Plain JSON values only, so a row read back from the spool is the
 * row that was spooled: the same id and start time, hence the same primary key.
 */
export interface LedgerRow {
  readonly id: string;
  /** ISO 8601 UTC, to the millisecond. */
  readonly startedAt: string;
  readonly keyId: string | null;
  readonly team: string | null;
  readonly user: string | null;
  readonly alias: string;
  readonly servedAlias: string | null;
  readonly deployment: string | null;
  readonly operation: string;
  readonly stream: boolean;
  readonly attempts: number;
  readonly status: number;
  readonly outcome: string;
  readonly errorCode: string | null;
  readonly promptTokens: number | null;
  readonly completionTokens: number | null;
  readonly cachedTokens: number | null;
  readonly cacheWriteTokens: number | null;
  readonly reasoningTokens: number | null;
  readonly usageEstimated: boolean;
  readonly costPico: number | null;
  readonly durationMs: number;
  readonly ttftMs: number | null;
  readonly upstreamMs: number;
  readonly detail: RequestDetail;
  /** Each attempt (the console's timeline); absent when none was made (kept out of the row's JSON). */
  readonly attemptLog?: readonly AttemptLogEntry[];
  readonly traceId?: string;
  /** The prompt and completion of a team that stores them; see LedgerPayload. */
  readonly payload?: LedgerPayload;
}

/**
 * A stored prompt and completion. `redact` is set until the team's rules have been applied
 * (`redactPayload`): that happens when the row leaves memory (written or spooled), never on the
 * request's path, and never is an unredacted one written anywhere.
 */
export interface LedgerPayload {
  readonly team: string;
  readonly request: string;
  readonly response: string | null;
  readonly truncated: boolean;
  readonly expiresAt: string;
  readonly redact?: readonly string[];
  /** The team's `maxBytes`: the text is captured a little longer, redacted, then cut to this. */
  readonly maxChars?: number;
}

const DAY_MS = 86_400_000;

/** Events kept per list of a row's detail: a request makes a handful; a runaway loop cannot grow a row. */
export const MAX_DETAIL_EVENTS = 32;

/** What the attempt, retry and fallback events of one request in flight have told so far. */
export class DetailCollector {
  readonly attempts: NonNullable<RequestDetail['attempts']>[number][] = [];
  readonly retries: NonNullable<RequestDetail['retries']>[number][] = [];
  readonly fallbacks: NonNullable<RequestDetail['fallbacks']>[number][] = [];
  truncated = false;

  attempt(e: AttemptEvent): void {
    this.#push(this.attempts, { attempt: e.attempt, deployment: e.deployment, outcome: e.outcome, status: e.status ?? null, durationMs: Math.round(e.durationMs) });
  }

  retry(e: { readonly fromDeployment: string; readonly reason: string; readonly delayMs: number }): void {
    this.#push(this.retries, { fromDeployment: e.fromDeployment, reason: e.reason, delayMs: Math.round(e.delayMs) });
  }

  fallback(e: { readonly from: string; readonly to: string }): void {
    this.#push(this.fallbacks, { from: e.from, to: e.to });
  }

  toDetail(): RequestDetail {
    return {
      ...(this.attempts.length > 0 ? { attempts: this.attempts } : {}),
      ...(this.retries.length > 0 ? { retries: this.retries } : {}),
      ...(this.fallbacks.length > 0 ? { fallbacks: this.fallbacks } : {}),
      ...(this.truncated ? { truncated: true } : {}),
    };
  }

  #push<T>(list: T[], item: T): void {
    if (list.length < MAX_DETAIL_EVENTS) list.push(item);
    else this.truncated = true;
  }
}

/**
 * The row of a finished request, filed under the instant it began: the time its UUIDv7 request
 * id names (so `/requests/{id}` finds it by primary key, http/request-id.ts), or, for an id of
 * another shape, `finishedWallMs` (the wall clock when the event arrived, as the request ends)
 * minus the request's monotonic duration, so a wall-clock step during the request cannot move it.
 */
export function rowOf(e: RequestFinishedEvent, finishedWallMs: number, detail: RequestDetail): LedgerRow {
  const u = e.usage;
  const ms = (v: number): number => Math.max(0, Math.round(v));
  return {
    id: e.requestId,
    startedAt: new Date(requestIdTime(e.requestId) ?? Math.round(finishedWallMs - e.durationMs)).toISOString(),
    keyId: e.keyId ?? null,
    team: e.tenant ?? null,
    user: e.user ?? null,
    alias: e.model,
    servedAlias: e.servedModel ?? null,
    deployment: e.deployment ?? null,
    operation: e.operation ?? 'unknown',
    stream: e.stream,
    attempts: e.attempts,
    status: e.status,
    outcome: e.outcome,
    errorCode: e.errorCode ?? null,
    promptTokens: u?.promptTokens ?? null,
    completionTokens: u?.completionTokens ?? null,
    cachedTokens: u?.cachedTokens ?? null,
    cacheWriteTokens: u?.cacheWriteTokens ?? null,
    reasoningTokens: u?.reasoningTokens ?? null,
    usageEstimated: u?.estimated ?? false,
    costPico: e.costPico ?? null,
    durationMs: ms(e.durationMs),
    ttftMs: e.timeToFirstTokenMs === undefined ? null : ms(e.timeToFirstTokenMs),
    upstreamMs: ms(e.upstreamMs),
    detail,
    ...(e.attemptLog && e.attemptLog.length > 0 ? { attemptLog: e.attemptLog } : {}),
    ...(e.traceId !== undefined ? { traceId: e.traceId } : {}),
    ...(e.payload && e.tenant !== undefined
      ? {
          payload: {
            team: e.tenant,
            request: e.payload.request,
            response: e.payload.response ?? null,
            truncated: e.payload.truncated,
            expiresAt: new Date(Math.round(finishedWallMs - e.durationMs) + e.payload.policy.retentionDays * DAY_MS).toISOString(),
            redact: e.payload.policy.redact,
            maxChars: e.payload.policy.maxBytes,
          },
        }
      : {}),
  };
}

/** The row with its payload redacted by the team's rules (and made storable); the same row when there is nothing to do. */
export function redactPayload(row: LedgerRow): LedgerRow {
  const p = row.payload;
  if (!p || p.redact === undefined) return row;
  // Redacted before it is cut, so a secret across the cap is matched whole, never half kept.
  const clean = (text: string): string => {
    const redacted = p.redact && p.redact.length > 0 ? redact(text, p.redact) : text;
    return storableText(p.maxChars !== undefined && redacted.length > p.maxChars ? redacted.slice(0, p.maxChars) : redacted);
  };
  return { ...row, payload: { team: p.team, request: clean(p.request), response: p.response === null ? null : clean(p.response), truncated: p.truncated, expiresAt: p.expiresAt } };
}

/** The UTC day (YYYY-MM-DD) a row is filed under: its partition and its spend row. */
export function dayOf(row: Pick<LedgerRow, 'startedAt'>): string {
  return row.startedAt.slice(0, 10);
}
