import type { BudgetConfig, ConcurrencyConfig, LimitsConfig, PayloadsConfig, TenantQueueConfig } from '../../config/schema.js';
import type { AttemptLogEntry } from '../../observability/events.js';
import { sql } from 'drizzle-orm';
import { bigint, boolean, customType, date, index, integer, jsonb, numeric, pgTable, primaryKey, text, timestamp, unique } from 'drizzle-orm/pg-core';

/**
 * The control plane's tables, as drizzle sees them: the typed query side of the schema. The
 * tables themselves are created by the versioned SQL in migrations.ts; store.test.ts checks that
 * the two describe the same columns. docs/storage.md explains each table and the ones planned.
 */

/** Limits of a team or key, exactly as in the config file (validated by the same schemas). */
export type StoredLimits = LimitsConfig;
export type StoredConcurrency = ConcurrencyConfig;
/** A budget of a team or key, as in the config file (`{period, limitUsd?, softLimitUsd?}`). */
export type StoredBudget = BudgetConfig;

/** PostgreSQL `bytea` as a Buffer (drizzle has no built-in column for it). */
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
});

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** Teams made through the admin API (config tenants are teams too, but live in the YAML). */
export const teams = pgTable('teams', {
  name: text('name').primaryKey(),
  models: jsonb('models').$type<string[]>().notNull(),
  limits: jsonb('limits').$type<StoredLimits>(),
  modelLimits: jsonb('model_limits').$type<Record<string, StoredLimits>>(),
  concurrency: jsonb('concurrency').$type<StoredConcurrency>(),
  budgets: jsonb('budgets').$type<StoredBudget[]>(),
  metadata: jsonb('metadata').$type<Record<string, string>>().notNull(),
  createdAt: at('created_at').notNull(),
  updatedAt: at('updated_at').notNull(),
  /** Whether its prompts and completions are stored (the config file's `payloads` shape); null: not. */
  payloads: jsonb('payloads').$type<PayloadsConfig>(),
  /** Its weight and priority classes in the queues (the config file's `queue` shape); null: the defaults. */
  queue: jsonb('queue').$type<TenantQueueConfig>(),
});

/**
 * API keys made through the admin API. The secret is never stored: its SHA-256 digests live in
 * `api_key_secrets` (two while a rotation's grace period runs). A revoked key keeps its row, for
 * the audit trail and the console, and loses its secrets.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    team: text('team').notNull(),
    name: text('name'),
    role: text('role').$type<'team_admin' | 'member' | 'viewer'>().notNull(),
    /** A subset of the team's models; null: all of the team's. */
    models: jsonb('models').$type<string[]>(),
    limits: jsonb('limits').$type<StoredLimits>(),
    budgets: jsonb('budgets').$type<StoredBudget[]>(),
    /** Per-request cost ceiling in US dollars, a decimal string. */
    maxCostPerRequestUsd: text('max_cost_per_request_usd'),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull(),
    /** The first characters of the secret, shown in lists so people can tell keys apart. */
    prefix: text('prefix').notNull(),
    expiresAt: at('expires_at'),
    revokedAt: at('revoked_at'),
    createdAt: at('created_at').notNull(),
    createdBy: text('created_by').notNull(),
    lastUsedAt: at('last_used_at'),
  },
  (t) => [index('api_keys_team_idx').on(t.team)],
);

export const apiKeySecrets = pgTable(
  'api_key_secrets',
  {
    /** SHA-256 hex of the secret: what the data plane looks a presented key up by. */
    digest: text('digest').primaryKey(),
    keyId: text('key_id')
      .notNull()
      .references(() => apiKeys.id, { onDelete: 'cascade' }),
    createdAt: at('created_at').notNull(),
    /** After a rotation, when this (old) secret stops working; null while it is the current one. */
    retiresAt: at('retires_at'),
  },
  (t) => [index('api_key_secrets_key_idx').on(t.keyId)],
);

/** People from the identity provider, by issuer and subject, with a global role if any. */
export const users = pgTable('users', {
  id: text('id').primaryKey(),
  subject: text('subject').notNull().unique(),
  email: text('email'),
  /** `admin` or `viewer` over every team; null: only the team roles below. */
  role: text('role').$type<'admin' | 'viewer'>(),
  createdAt: at('created_at').notNull(),
  updatedAt: at('updated_at').notNull(),
});

export const memberships = pgTable(
  'memberships',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    team: text('team').notNull(),
    role: text('role').$type<'team_admin' | 'member' | 'viewer'>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.team] }), index('memberships_team_idx').on(t.team)],
);

/**
 * The tamper-evident audit log: each entry's `hash` is the SHA-256 of its predecessor's hash and
 * its own fields (audit.ts), so an edited, removed or reordered entry breaks the chain.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    at: at('at').notNull(),
    actor: text('actor').notNull(),
    actorType: text('actor_type').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    source: text('source'),
    requestId: text('request_id'),
    before: jsonb('before').$type<unknown>(),
    after: jsonb('after').$type<unknown>(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [index('audit_log_at_idx').on(t.at), index('audit_log_actor_idx').on(t.actor), index('audit_log_target_idx').on(t.targetType, t.targetId)],
);

/**
 * One row: the version of the control state, bumped by every change in the same transaction
 * (with a NOTIFY), so replicas can tell from one small read whether their snapshot is current.
 */
export const controlState = pgTable('control_state', {
  id: integer('id').primaryKey(),
  version: bigint('version', { mode: 'number' }).notNull(),
  /** The audit log's last entry, so removing entries from the end is detected too. */
  auditSeq: bigint('audit_seq', { mode: 'number' }).notNull(),
  auditHash: text('audit_hash').notNull(),
});

/** What a request-log row holds beyond its columns: how each attempt went, the retries and fallbacks. */
export interface RequestDetail {
  readonly attempts?: ReadonlyArray<{ readonly attempt: number; readonly deployment: string; readonly outcome: string; readonly status: number | null; readonly durationMs: number }>;
  readonly retries?: ReadonlyArray<{ readonly fromDeployment: string; readonly reason: string; readonly delayMs: number }>;
  readonly fallbacks?: ReadonlyArray<{ readonly from: string; readonly to: string }>;
  /** More events than a row keeps (ledger/row.ts caps each list). */
  readonly truncated?: boolean;
}

/**
 * One row per API request, refused ones too. Partitioned by range on `started_at`, one partition
 * per UTC day (`request_log_YYYYMMDD`, made ahead by the ledger and dropped whole by retention).
 * The primary key holds the partition column, as PostgreSQL requires; the request id with its
 * start time makes a replayed row (spool, retry after a lost answer) a conflict, not a copy.
 */
export const requestLog = pgTable(
  'request_log',
  {
    id: text('id').notNull(),
    startedAt: at('started_at').notNull(),
    keyId: text('key_id'),
    team: text('team'),
    user: text('user'),
    /** The alias asked for ("unknown" when it was not a configured one). */
    alias: text('alias').notNull(),
    servedAlias: text('served_alias'),
    deployment: text('deployment'),
    operation: text('operation').notNull(),
    stream: boolean('stream').notNull(),
    attempts: integer('attempts').notNull(),
    status: integer('status').notNull(),
    outcome: text('outcome').notNull(),
    errorCode: text('error_code'),
    promptTokens: integer('prompt_tokens'),
    completionTokens: integer('completion_tokens'),
    cachedTokens: integer('cached_tokens'),
    cacheWriteTokens: integer('cache_write_tokens'),
    reasoningTokens: integer('reasoning_tokens'),
    usageEstimated: boolean('usage_estimated').notNull(),
    /** Picodollars; null: served by an unpriced target, or nothing served. */
    costPico: bigint('cost_pico', { mode: 'number' }),
    durationMs: integer('duration_ms').notNull(),
    ttftMs: integer('ttft_ms'),
    upstreamMs: integer('upstream_ms').notNull(),
    detail: jsonb('detail').$type<RequestDetail>().notNull(),
    /** Each upstream attempt in order (null: none made, or written before migration 4). */
    attemptLog: jsonb('attempt_log').$type<readonly AttemptLogEntry[]>(),
    /** The request's W3C trace id (32 hex), when it had one. */
    traceId: text('trace_id'),
  },
  (t) => [
    primaryKey({ columns: [t.startedAt, t.id] }),
    index('request_log_team_idx').on(t.team, t.startedAt, t.id),
    index('request_log_key_idx').on(t.keyId, t.startedAt),
  ],
);

/**
 * Spend per UTC day, team, key, alias asked and deployment, added to in the same statement that
 * inserts the request rows, from only the rows actually inserted (ledger/write.ts): so a replayed
 * row never counts twice. No team, key or deployment is '' (they are part of the key).
 */
export const spendDaily = pgTable(
  'spend_daily',
  {
    day: date('day', { mode: 'string' }).notNull(),
    team: text('team').notNull(),
    keyId: text('key_id').notNull(),
    alias: text('alias').notNull(),
    deployment: text('deployment').notNull(),
    requests: bigint('requests', { mode: 'bigint' }).notNull(),
    promptTokens: bigint('prompt_tokens', { mode: 'bigint' }).notNull(),
    completionTokens: bigint('completion_tokens', { mode: 'bigint' }).notNull(),
    cachedTokens: bigint('cached_tokens', { mode: 'bigint' }).notNull(),
    reasoningTokens: bigint('reasoning_tokens', { mode: 'bigint' }).notNull(),
    /** Exact sum of picodollars (numeric: no overflow, no rounding). */
    costPico: numeric('cost_pico').notNull(),
    unpricedRequests: bigint('unpriced_requests', { mode: 'bigint' }).notNull(),
    estimatedRequests: bigint('estimated_requests', { mode: 'bigint' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.team, t.keyId, t.alias, t.deployment] }), index('spend_daily_team_idx').on(t.team, t.day)],
);

/**
 * Prompts and completions of teams that opted in (`payloads.store`), redacted and capped before
 * they are written, with the request-log row's key. Not partitioned: each team has its own
 * retention, so rows carry their `expires_at` and an hourly job deletes the expired ones by its index.
 */
export const requestPayloads = pgTable(
  'request_payloads',
  {
    id: text('id').notNull(),
    startedAt: at('started_at').notNull(),
    team: text('team').notNull(),
    /** The request body as received (JSON), redacted, cut to maxBytes. */
    request: text('request').notNull(),
    /** The response (the JSON body, or the stream's chunks as a JSON array), redacted, cut; null: none. */
    response: text('response'),
    truncated: boolean('truncated').notNull(),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.startedAt, t.id] }), index('request_payloads_expires_idx').on(t.expiresAt)],
);

/**
 * Files of the Batch API (`/v1/files`): uploaded batch input (its bytes in `content`), and each
 * batch's output and error files, which hold no bytes: their content is built from the batch's
 * items when read, so an item's result exists in exactly one place.
 */
export const files = pgTable(
  'files',
  {
    id: text('id').primaryKey(),
    team: text('team').notNull(),
    purpose: text('purpose').$type<'batch' | 'batch_output' | 'batch_error'>().notNull(),
    filename: text('filename').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    /** The uploaded bytes; null for a batch's output and error files. */
    content: bytea('content'),
    /** For `batch_output` / `batch_error`: the batch whose items make its content. */
    batchId: text('batch_id'),
    /** The key id (or subject) that uploaded it. */
    createdBy: text('created_by').notNull(),
    createdAt: at('created_at').notNull(),
    expiresAt: at('expires_at'),
  },
  (t) => [index('files_team_idx').on(t.team, t.createdAt, t.id), index('files_expires_idx').on(t.expiresAt)],
);

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** Batches (`/v1/batches`): one row each, with the counts OpenAI reports and our summed cost. */
export const batches = pgTable(
  'batches',
  {
    id: text('id').primaryKey(),
    team: text('team').notNull(),
    /** The API key the batch was created with: its items run as that key (its limits, budgets, models). */
    keyId: text('key_id').notNull(),
    endpoint: text('endpoint').notNull(),
    inputFileId: text('input_file_id').notNull(),
    completionWindow: text('completion_window').notNull(),
    status: text('status').$type<BatchStatus>().notNull(),
    metadata: jsonb('metadata').$type<Record<string, string>>(),
    /** Validation errors, in OpenAI's `errors` shape (`{object: 'list', data: [...]}`). */
    errors: jsonb('errors').$type<unknown>(),
    outputFileId: text('output_file_id'),
    errorFileId: text('error_file_id'),
    total: integer('total').notNull(),
    completed: integer('completed').notNull(),
    failed: integer('failed').notNull(),
    /** Items not yet ended (queued or running): the batch ends when this reaches 0. */
    pending: integer('pending').notNull(),
    /** Sum of the items' costs (picodollars). */
    costPico: bigint('cost_pico', { mode: 'bigint' }).notNull(),
    createdAt: at('created_at').notNull(),
    inProgressAt: at('in_progress_at'),
    expiresAt: at('expires_at').notNull(),
    finalizingAt: at('finalizing_at'),
    completedAt: at('completed_at'),
    failedAt: at('failed_at'),
    expiredAt: at('expired_at'),
    cancellingAt: at('cancelling_at'),
    cancelledAt: at('cancelled_at'),
  },
  (t) => [index('batches_team_idx').on(t.team, t.createdAt, t.id), index('batches_open_idx').on(t.status)],
);

export type BatchItemState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

/**
 * One request of a batch: the durable job record. Its result is written once, by the update that
 * moves it out of `queued`/`running` (so a replica that died mid-item and a second run of it can
 * never both write a line). `dead_lettered_at` marks a failed item on the dead-letter list.
 */
export const batchItems = pgTable(
  'batch_items',
  {
    batchId: text('batch_id').notNull(),
    /** 0-based line of the input file. */
    line: integer('line').notNull(),
    customId: text('custom_id').notNull(),
    /** The request body of the line (`body`), as sent to the endpoint. */
    body: jsonb('body').$type<unknown>().notNull(),
    state: text('state').$type<BatchItemState>().notNull(),
    /** Runs started so far. */
    attempts: integer('attempts').notNull(),
    /** Not to be run before this (retry backoff); null: now. */
    notBefore: at('not_before'),
    /** The replica running it (embedded runner), and until when its claim holds. */
    claimedBy: text('claimed_by'),
    leaseUntil: at('lease_until'),
    statusCode: integer('status_code'),
    requestId: text('request_id'),
    /** The response body (a success, or the gateway's error body for a non-2xx answer). */
    response: jsonb('response').$type<unknown>(),
    /** An error that produced no response (`{code, message}`: expired, cancelled). */
    error: jsonb('error').$type<unknown>(),
    costPico: bigint('cost_pico', { mode: 'bigint' }),
    finishedAt: at('finished_at'),
    deadLetteredAt: at('dead_lettered_at'),
  },
  (t) => [primaryKey({ columns: [t.batchId, t.line] }), unique('batch_items_batch_id_custom_id_key').on(t.batchId, t.customId), index('batch_items_runnable_idx').on(t.state, t.notBefore),
    // The runner claims queued items by (line, batch): without it every claim sorted every queued row (migration 7).
    index('batch_items_queued_order_idx').on(t.line, t.batchId).where(sql`state = 'queued'`), index('batch_items_dead_letter_idx').on(t.deadLetteredAt)],
);

/**
 * Stored responses of `/v1/responses` (`store: true`): what `previous_response_id` expands to and
 * what `GET /v1/responses/{id}` returns. `depth`, `chain_items` and `chain_bytes` count the whole
 * conversation up to and including this turn, so a continuation too large to expand is refused
 * from one row, before any of its history is read (src/responses/sql-store.ts).
 */
export const responses = pgTable(
  'responses',
  {
    id: text('id').primaryKey(),
    team: text('team').notNull(),
    /** The key id (or the signed-in person's subject) that made it. */
    createdBy: text('created_by').notNull(),
    /** The model alias asked for. */
    model: text('model').notNull(),
    previousResponseId: text('previous_response_id'),
    /** This request's own input items (not the history it continued). */
    inputItems: jsonb('input_items').$type<unknown[]>().notNull(),
    /** The response's output items. */
    output: jsonb('output').$type<unknown[]>().notNull(),
    /** The response object as the client received it. */
    response: jsonb('response').$type<Record<string, unknown>>().notNull(),
    /** Turns in the conversation up to this one (1: it continued nothing). */
    depth: integer('depth').notNull(),
    /** Items (inputs and outputs) of every turn up to this one. */
    chainItems: integer('chain_items').notNull(),
    /** Bytes (JSON) of those items. */
    chainBytes: bigint('chain_bytes', { mode: 'number' }).notNull(),
    createdAt: at('created_at').notNull(),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [index('responses_team_idx').on(t.team, t.id), index('responses_expires_idx').on(t.expiresAt)],
);

export const schemaMigrations = pgTable('schema_migrations', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
  checksum: text('checksum').notNull(),
  appliedAt: at('applied_at').notNull(),
});

export const schema = { teams, apiKeys, apiKeySecrets, users, memberships, auditLog, controlState, requestLog, spendDaily, requestPayloads, files, batches, batchItems, responses, schemaMigrations };
