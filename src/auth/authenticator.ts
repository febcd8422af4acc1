import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { ResolvedTenant } from '../config/load.js';
import { authorize } from '../admin/access.js';
import { actorOf } from '../admin/actor.js';
import { emptySnapshot, type ControlSnapshot, type KeyRole, type KeySecretEntry, type StoredKey } from '../control/snapshot.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { TenantQueueConfig } from '../config/schema.js';
import { higher } from '../queue/fair-queue.js';
import type { Principal, QueuePlace, TokenVerifier, VerifiedIdentity } from './principal.js';
import { teamDefinition, type TeamDefinition } from './teams.js';
import { budgetRules } from '../spend/budget.js';
import { usdToPico } from '../spend/money.js';

/** RFC 6750 b64token, bounded: anything else (spaces, non-ASCII, homoglyphs, 10 KB tokens) is refused. */
export const bearerPattern = /^Bearer ([A-Za-z0-9._~+/-]{1,8192}=*)$/i;
/** Our keys are at most 512 characters (tenantKeyPattern in config/schema.ts); longer is a JWT or nothing. */
const MAX_KEY_CHARS = 512;

/** The live control state (control/sync.ts), when the control plane is on. */
export interface ControlView {
  readonly snapshot: ControlSnapshot;
  /** Notes that a key was used (for `lastUsedAt`, written in batches). */
  touch(keyId: string): void;
}

export interface AuthenticatorOptions {
  readonly control?: ControlView | undefined;
  readonly identity?: TokenVerifier | undefined;
  readonly clock?: Clock;
}

/**
 * Maps `Authorization: Bearer <credential>` to a principal. The credential is one of:
 * - a key from the config file, looked up by SHA-256 digest (the time taken does not depend on
 *   how much of a stored key matches, and plain keys are never kept);
 * - a key made through the admin API, looked up the same way in the control plane's in-memory
 *   snapshot (never a database call);
 * - a JWT from the company's identity provider, when `identity` is configured: verified once,
 *   then served from the verifier's cache until it expires.
 * Returns a principal synchronously except for a JWT not yet in the cache.
 */
export class Authenticator {
  readonly #byDigest = new Map<string, Principal>();
  readonly #tenants: Readonly<Record<string, ResolvedTenant>>;
  readonly #control: ControlView | undefined;
  readonly #identity: TokenVerifier | undefined;
  readonly #clock: Clock | undefined;
  /** Principals of API keys, per snapshot entry: a new snapshot makes new entries, so this never goes stale. */
  readonly #keyPrincipals = new WeakMap<StoredKey, Principal>();
  /** Config keys' principals by key id (`cfg_<digest12>`), for callers that hold an id, not a secret (batch items). */
  readonly #byKeyId = new Map<string, Principal>();
  /** Each snapshot's key secrets by key id (built on first use): the current secret's entry when a key is in rotation. */
  readonly #keysById = new WeakMap<ControlSnapshot, Map<string, KeySecretEntry>>();
  /** Principals of cached tokens, with the snapshot they were built from (memberships may change). */
  readonly #tokenPrincipals = new WeakMap<VerifiedIdentity, { snapshot: ControlSnapshot | undefined; principal: Principal }>();

  constructor(tenants: Readonly<Record<string, ResolvedTenant>>, options: AuthenticatorOptions = {}) {
    this.#tenants = tenants;
    this.#control = options.control;
    this.#identity = options.identity;
    this.#clock = options.clock;
    for (const [name, t] of Object.entries(tenants)) {
      const team = teamDefinition(t);
      for (const digest of t.keyDigests) {
        const principal = makePrincipal(name, team, undefined, { keyId: `cfg_${digest.slice(0, 12)}` });
        this.#byDigest.set(digest, principal);
        this.#byKeyId.set(principal.keyId as string, principal);
      }
    }
  }

  /**
   * The principal of an API key by its id, as it stands now: for work authorized earlier and run
   * later (a batch's items run as the key that created the batch). Throws like `authenticate`:
   * invalid_api_key (401) when the key was revoked or is gone from the config, api_key_expired
   * (401) when it expired since (a rotated key counts as its current secret), permission_denied
   * (403) when its role may no longer call models.
   */
  principalForKey(keyId: string): Principal {
    const configured = this.#byKeyId.get(keyId);
    if (configured) return configured;
    const snapshot = this.#control?.snapshot;
    const entry = snapshot ? this.#keysOf(snapshot).get(keyId) : undefined;
    if (!entry) throw new GatewayError('invalid_api_key', 'The API key this work was created with no longer exists (revoked or removed).');
    return this.#fromKey(entry.key, entry.retiresAtMs);
  }

  #keysOf(snapshot: ControlSnapshot): Map<string, KeySecretEntry> {
    let byId = this.#keysById.get(snapshot);
    if (!byId) {
      byId = new Map();
      for (const entry of snapshot.keys.values()) {
        const known = byId.get(entry.key.id);
        // A rotated key has two secrets: the one that does not retire is the key's.
        if (!known || (known.retiresAtMs !== undefined && (entry.retiresAtMs === undefined || entry.retiresAtMs > known.retiresAtMs))) byId.set(entry.key.id, entry);
      }
      this.#keysById.set(snapshot, byId);
    }
    return byId;
  }

  /**
   * The principal for an Authorization header; throws missing_api_key, invalid_api_key,
   * api_key_expired (401), invalid_token (401) or permission_denied (403).
   * `acceptsXApiKey`: the route also takes the key as `x-api-key` (Anthropic's surface, where the
   * edge has already turned that header into `header`), so a missing key names both ways.
   */
  authenticate(header: string | undefined, acceptsXApiKey = false): Principal | Promise<Principal> {
    if (header === undefined || header === '') {
      const how = acceptsXApiKey ? '"x-api-key: <key>" or "Authorization: Bearer <key>"' : '"Authorization: Bearer <key>"';
      throw new GatewayError('missing_api_key', `You did not provide an API key. Send it as ${how}.`);
    }
    const match = bearerPattern.exec(header);
    const credential = match?.[1];
    if (credential !== undefined && credential.length > MAX_KEY_CHARS) {
      if (this.#identity?.looksLikeJwt(credential)) return this.#fromToken(credential);
      throw new GatewayError('invalid_api_key', 'Incorrect API key provided.');
    }
    // Malformed and unknown keys take the same path (hash + lookup) so they cost the same.
    const digest = createHash('sha256').update(credential ?? header, 'latin1').digest('hex');
    const principal = this.#byDigest.get(digest);
    if (credential !== undefined && principal) return principal;
    const entry = this.#control?.snapshot.keys.get(digest);
    if (credential !== undefined && entry) return this.#fromKey(entry.key, entry.retiresAtMs);
    if (credential !== undefined && this.#identity?.looksLikeJwt(credential)) return this.#fromToken(credential);
    throw new GatewayError('invalid_api_key', 'Incorrect API key provided.');
  }

  #fromKey(key: StoredKey, retiresAtMs: number | undefined): Principal {
    const now = this.#clock?.wallMs() ?? Date.now();
    if (key.expiresAtMs !== undefined && now >= key.expiresAtMs) {
      throw new GatewayError('api_key_expired', `This API key expired at ${new Date(key.expiresAtMs).toISOString()}. Ask your team admin for a new one.`);
    }
    if (retiresAtMs !== undefined && now >= retiresAtMs) {
      throw new GatewayError('api_key_expired', `This API key was rotated; the old secret stopped working at ${new Date(retiresAtMs).toISOString()}. Use the new one.`);
    }
    if (!keyMayCall(key.role)) throw new GatewayError('permission_denied', `This API key is read-only (role ${key.role}): it can read the admin API but not call models.`);
    let principal = this.#keyPrincipals.get(key);
    if (!principal) {
      const team = this.#team(key.team);
      if (!team) throw new GatewayError('invalid_api_key', 'Incorrect API key provided.');
      principal = makePrincipal(key.team, team, key, { keyId: key.id });
      this.#keyPrincipals.set(key, principal);
    }
    this.#control?.touch(key.id);
    return principal;
  }

  #fromToken(token: string): Principal | Promise<Principal> {
    const identity = this.#identity as TokenVerifier;
    const hit = identity.cached(token);
    if (hit) {
      // The verifier hands back the same identity object while the token is cached: its
      // principal is built once per snapshot, not per request.
      const snapshot = this.#control?.snapshot;
      const known = this.#tokenPrincipals.get(hit);
      if (known && known.snapshot === snapshot) return known.principal;
      const principal = this.#tokenPrincipal(hit);
      this.#tokenPrincipals.set(hit, { snapshot, principal });
      return principal;
    }
    return identity.verify(token).then(
      (verified) => this.#tokenPrincipal(verified),
      (err: unknown) => {
        throw new GatewayError('invalid_token', err instanceof Error ? err.message : 'The token was refused.', { cause: err });
      },
    );
  }

  /**
   * A person from the identity provider calls models for the team their token (or their one
   * membership) names, if their roles there allow it: the same roles, and the same `authorize`,
   * as on the admin API (a token's roles count for the team the token names; the store adds the
   * person's global role and memberships).
   */
  #tokenPrincipal(id: VerifiedIdentity): Principal {
    const snapshot = this.#control?.snapshot ?? emptySnapshot;
    const user = snapshot.users.get(id.subject);
    const memberships = user ? [...user.teams.keys()] : [];
    const teamName = id.team ?? (memberships.length === 1 ? memberships[0] : undefined);
    if (teamName === undefined) {
      throw new GatewayError('permission_denied', 'This token names no team (see identity.jwt.claims.team) and its subject belongs to no single team: it cannot call models.');
    }
    if (!authorize(actorOf(id, snapshot), 'model.call', { team: teamName })) {
      throw new GatewayError('permission_denied', `Your role on team '${teamName}' can read but not call models.`);
    }
    const team = this.#team(teamName);
    if (!team) throw new GatewayError('permission_denied', `The team '${teamName}' named by your token does not exist on this gateway.`);
    return makePrincipal(teamName, team, undefined, { user: id.subject });
  }

  /** A team from the config file, else one made through the admin API (the file wins a name clash). */
  #team(name: string): TeamDefinition | undefined {
    const tenant = Object.hasOwn(this.#tenants, name) ? this.#tenants[name] : undefined;
    if (tenant) return teamDefinition(tenant);
    const stored = this.#control?.snapshot.teams.get(name);
    return stored ? teamDefinition(stored) : undefined;
  }
}

/** Whether a key of each role may call models: the matrix's answer (access.ts), worked out once per role, not per request. */
const keyCallDecisions = new Map<KeyRole, boolean>();

function keyMayCall(role: KeyRole): boolean {
  let allowed = keyCallDecisions.get(role);
  if (allowed === undefined) {
    allowed = authorize({ audit: { id: 'key', type: 'key' }, globalRole: undefined, teamRoles: new Map([['team', role]]) }, 'model.call', { team: 'team' });
    keyCallDecisions.set(role, allowed);
  }
  return allowed;
}

function makePrincipal(name: string, team: TeamDefinition, key: StoredKey | undefined, who: { keyId?: string; user?: string }): Principal {
  const keyModels = key?.models ? new Set(key.models) : undefined;
  const all = team.models.includes('*');
  const allowed = new Set(team.models);
  const keyLimits = key?.limits ? { scope: `key:${key.id}`, limits: key.limits } : undefined;
  const budgets = [...budgetRules(`team:${name}`, team.budgets), ...(key ? budgetRules(`key:${key.id}`, key.budgets) : [])];
  // The lower of the key's ceiling and the team's: like a key budget, a key's ceiling can only
  // narrow what its team allows (a team_admin must not lift the operator's cap with a new key).
  const ceiling = lowerCeiling(key?.maxCostPerRequestUsd, team.maxCostPerRequestUsd);
  return {
    tenant: name,
    ...who,
    mayUse: (alias) => (all || allowed.has(alias)) && (keyModels === undefined || keyModels.has(alias) || keyModels.has('*')),
    // Own properties only: an alias named like an Object.prototype member must not match one.
    limitsFor: (alias) => (team.modelLimits && Object.hasOwn(team.modelLimits, alias) ? team.modelLimits[alias] : undefined) ?? team.limits,
    ...(team.concurrency ? { concurrency: team.concurrency } : {}),
    ...(keyLimits ? { keyLimits } : {}),
    ...(budgets.length > 0 ? { budgets } : {}),
    ...(ceiling !== undefined ? { maxCostPico: ceiling } : {}),
    ...(team.payloads ? { payloads: team.payloads } : {}),
    ...(team.queue ? { queue: queuePlace(team.queue) } : {}),
  };
}

/** A team's queue settings as the principal carries them: the header ceiling defaults to its own class, at least `normal`. */
function queuePlace(q: TenantQueueConfig): QueuePlace {
  return { weight: q.weight, priority: q.priority, maxPriority: q.maxPriority ?? higher(q.priority, 'normal') };
}

/** The lower of two optional ceilings (US dollars as configured) in pUSD; undefined when neither is set. */
function lowerCeiling(a: string | number | null | undefined, b: string | number | null | undefined): bigint | undefined {
  const pa = a === undefined || a === null ? undefined : usdToPico(a);
  const pb = b === undefined || b === null ? undefined : usdToPico(b);
  if (pa === undefined) return pb;
  if (pb === undefined) return pa;
  return pa < pb ? pa : pb;
}
