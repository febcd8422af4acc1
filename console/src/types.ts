/** The admin API's answers, as the console reads them (docs/admin-api.md). */

export type TeamRole = 'team_admin' | 'member' | 'viewer';

export interface Me {
  readonly actor: string;
  readonly actorType: string;
  readonly role: 'admin' | 'viewer' | null;
  readonly teams: ReadonlyArray<{ team: string; role: TeamRole }>;
}

export interface List<T> {
  readonly object: 'list';
  readonly data: T[];
  readonly nextCursor?: string | null;
}

export interface Budget {
  readonly period: 'daily' | 'weekly' | 'monthly' | 'lifetime';
  readonly limit_usd: string | null;
  readonly soft_limit_usd: string | null;
}

export interface Bucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
}

export interface Limits {
  readonly requests?: Bucket;
  readonly tokens?: Bucket;
}

export interface Team {
  readonly name: string;
  readonly source: 'api' | 'config';
  readonly models: string[];
  readonly limits: Limits | null;
  readonly concurrency: { maxInFlight: number } | null;
  readonly budgets: Budget[] | null;
}

export interface Key {
  readonly id: string;
  readonly source: 'api' | 'config';
  readonly team: string;
  readonly name: string | null;
  readonly role: TeamRole;
  readonly prefix: string | null;
  readonly models: string[] | null;
  readonly limits: Limits | null;
  readonly budgets: Budget[] | null;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly createdAt: string | null;
  readonly lastUsedAt: string | null;
}

export interface KeyWithSecret extends Key {
  readonly key: string;
}

export interface SpendRow {
  readonly team?: string | null;
  readonly keyId?: string | null;
  readonly model?: string;
  readonly deployment?: string | null;
  readonly day?: string;
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cost_usd: string;
  readonly unpricedRequests: number;
}

export interface Spend {
  readonly from: string;
  readonly to: string;
  readonly data: SpendRow[];
  readonly total: SpendRow;
}

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

export interface RequestRow {
  readonly id: string;
  readonly startedAt: string;
  readonly team: string | null;
  readonly keyId: string | null;
  readonly model: string;
  readonly servedModel: string | null;
  readonly deployment: string | null;
  readonly operation: string;
  readonly stream: boolean;
  readonly attempts: number;
  readonly status: number;
  readonly outcome: string;
  readonly errorCode: string | null;
  readonly usage: Usage | null;
  readonly cost_usd: string | null;
  readonly durationMs: number;
  readonly ttftMs: number | null;
  readonly traceId?: string | null;
}

export interface AttemptLogEntry {
  readonly n: number;
  readonly alias: string;
  readonly deployment: string;
  readonly startMs: number;
  readonly durationMs: number;
  readonly outcome: string;
  readonly status: number | null;
  readonly ttftMs: number | null;
  readonly next: 'retry' | 'fallback' | null;
  readonly reason: string | null;
}

export interface RequestDetail extends RequestRow {
  /** The request's timeline (rows written before the attempt log existed have none). */
  readonly attemptLog?: AttemptLogEntry[];
  readonly detail: {
    readonly attempts?: Array<{ attempt: number; deployment: string; outcome: string; status: number | null; durationMs: number }>;
    readonly retries?: Array<{ fromDeployment: string; reason: string; delayMs: number }>;
    readonly fallbacks?: Array<{ from: string; to: string }>;
  };
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: string | null;
  readonly actor: string;
  readonly actorType: string;
  readonly action: string;
  readonly targetType: string | null;
  readonly targetId: string | null;
  readonly source: string | null;
  readonly requestId: string | null;
  readonly before: unknown;
  readonly after: unknown;
}

export interface Verify {
  readonly ok: boolean;
  readonly entries: number;
  readonly head?: { seq: number; hash: string };
  readonly firstBad?: { seq: number; problem: string; reason: string };
}

export interface Quantiles {
  readonly p50: number;
  readonly p95: number;
}

export interface ModelTick {
  readonly requests: number;
  readonly errors: number;
  readonly latencyMs: Quantiles | null;
  readonly ttftMs: Quantiles | null;
  readonly tokens: { input: number; output: number };
  readonly costUsd: number;
}

export interface DeploymentTick {
  readonly attempts: number;
  readonly errors: number;
  readonly latencyMs: Quantiles | null;
  readonly inFlight: number;
}

export interface Tick {
  readonly t: number;
  readonly requests: number;
  readonly outcomes: Record<string, number>;
  readonly latencyMs: Quantiles | null;
  readonly ttftMs: Quantiles | null;
  readonly tokens: { input: number; output: number };
  readonly costUsd: number;
  readonly models: Record<string, ModelTick>;
  readonly deployments: Record<string, DeploymentTick>;
}

export interface Deployment {
  readonly name: string;
  readonly provider: string;
  readonly models: string[];
  readonly upstreamModel: string;
  readonly server: string;
  readonly state: 'healthy' | 'cooling_down' | 'breaker_open' | 'breaker_half_open';
  readonly breaker: { state: string; transitions: Array<{ from: string; to: string; at: string; reason: string }> };
  readonly cooldownUntil: string | null;
  readonly inFlight: number;
  readonly pool: { active: number; idle?: number; queued: number; max: number | null };
  readonly latencyMs: Quantiles | null;
  readonly recentFailures: Array<{ at: string; outcome: string; status: number | null; requestId: string }>;
}
