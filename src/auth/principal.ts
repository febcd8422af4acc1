import type { ConcurrencyConfig, LimitsConfig, PayloadsConfig } from '../config/schema.js';
import type { VerifiedIdentity } from '../identity/claim-mapper.js';
import type { Priority } from '../queue/priority.js';
import type { BudgetRule } from '../spend/budget.js';

/** Who is calling: a team (a config tenant or one made through the admin API), its model allow-list and its limits. */
export interface Principal {
  readonly tenant: string;
  /**
   * Which credential: an admin-API key's id (`key_…`), `cfg_` and the first 12 hex digits of a
   * config key's SHA-256 digest, or undefined for a signed-in person (see `user`). For the
   * request log, spend and key budgets; never the secret.
   */
  readonly keyId?: string;
  /** The identity provider's subject of a signed-in person (JWT), for the request log. */
  readonly user?: string;
  /** Whether this caller may use the model alias. */
  mayUse(alias: string): boolean;
  /** The team's limits for one model alias (per-model override, else the team default). */
  limitsFor(alias: string): LimitsConfig | undefined;
  /** In-flight requests allowed to this team, all models together. */
  readonly concurrency?: ConcurrencyConfig;
  /**
   * An API key's own limits, enforced in addition to its team's, in buckets of its own
   * (`scope` names them, e.g. `key:key_3f9c…`).
   */
  readonly keyLimits?: { readonly scope: string; readonly limits: LimitsConfig };
  /** Spend budgets the request counts against: the team's (`team:<name>`), then the key's (`key:<id>`). */
  readonly budgets?: readonly BudgetRule[];
  /** Most one request may cost, worst case, in pUSD (the key's or team's setting; a header may lower it). */
  readonly maxCostPico?: bigint;
  /** Set when the team stores its prompts and completions (the request log's payloads, opt-in). */
  readonly payloads?: PayloadsConfig;
  /**
   * The team's place in the queues, when set (docs/queueing.md): weight within a class, the
   * default class, and the highest class its `x-gateway-priority` header may ask for. Unset:
   * weight 1, `normal`, at most `normal`.
   */
  readonly queue?: QueuePlace;
}

export interface QueuePlace {
  readonly weight: number;
  readonly priority: Priority;
  readonly maxPriority: Priority;
}

export type { Role } from '../identity/roles.js';
export type { VerifiedIdentity };

/** What the authenticator needs from the identity-provider verifier. */
export interface TokenVerifier {
  /** Cheap shape test: three base64url segments, bounded length. */
  looksLikeJwt(token: string): boolean;
  /** A verified token still valid, from the cache: no crypto, no await. */
  cached(token: string): VerifiedIdentity | undefined;
  /** Verifies signature and claims; throws an error with a client-safe message. */
  verify(token: string): Promise<VerifiedIdentity>;
}
