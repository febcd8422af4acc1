import type { PayloadsConfig, TenantQueueConfig } from '../config/schema.js';
import type { StoredBudget, StoredConcurrency, StoredLimits } from './store/schema.js';

/**
 * The in-memory copy of the control state that the data plane reads: immutable, swapped whole
 * by the sync loop (sync.ts) like a config reload, so a request never waits on the database.
 */
export interface ControlSnapshot {
  /** control_state.version when this was read. */
  readonly version: number;
  /** By SHA-256 digest of the secret; revoked keys are absent. */
  readonly keys: ReadonlyMap<string, KeySecretEntry>;
  readonly teams: ReadonlyMap<string, StoredTeam>;
  /** People known to the store, by identity-provider subject. */
  readonly users: ReadonlyMap<string, StoredUser>;
}

export interface StoredTeam {
  readonly name: string;
  readonly models: readonly string[];
  readonly limits: StoredLimits | null;
  readonly modelLimits: Readonly<Record<string, StoredLimits>> | null;
  readonly concurrency: StoredConcurrency | null;
  readonly budgets: readonly StoredBudget[] | null;
  readonly payloads: PayloadsConfig | null;
  /** Its weight and priority classes in the queues; null: weight 1, `normal`, at most `normal`. */
  readonly queue: TenantQueueConfig | null;
}

export type KeyRole = 'team_admin' | 'member' | 'viewer';

export interface StoredKey {
  readonly id: string;
  readonly team: string;
  readonly role: KeyRole;
  /** A subset of the team's models; null: every model of the team. */
  readonly models: readonly string[] | null;
  readonly limits: StoredLimits | null;
  /** The key's own budgets, counted in addition to its team's. */
  readonly budgets: readonly StoredBudget[] | null;
  /** Most one request with this key may cost, worst case, in US dollars (decimal string). */
  readonly maxCostPerRequestUsd: string | null;
  /** Wall-clock ms after which the key is refused as expired. */
  readonly expiresAtMs: number | undefined;
}

/** One secret of a key: the current one, or the previous one during a rotation's grace period. */
export interface KeySecretEntry {
  readonly key: StoredKey;
  /** Wall-clock ms after which this secret stops working (rotated away). */
  readonly retiresAtMs: number | undefined;
}

export interface StoredUser {
  readonly id: string;
  readonly subject: string;
  readonly role: 'admin' | 'viewer' | null;
  /** Team → role. */
  readonly teams: ReadonlyMap<string, KeyRole>;
}

export const emptySnapshot: ControlSnapshot = { version: 0, keys: new Map(), teams: new Map(), users: new Map() };
