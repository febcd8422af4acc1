import type { BudgetConfig, ConcurrencyConfig, LimitsConfig } from '../../config/schema.js';
import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

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

export const schemaMigrations = pgTable('schema_migrations', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
  checksum: text('checksum').notNull(),
  appliedAt: at('applied_at').notNull(),
});

export const schema = { teams, apiKeys, apiKeySecrets, users, memberships, auditLog, controlState, schemaMigrations };
