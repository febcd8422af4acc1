import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { ResolvedTenant } from '../config/load.js';
import type { ControlSnapshot, KeyRole } from '../control/snapshot.js';
import { GatewayError } from '../errors/gateway-error.js';
import { bearerPattern } from '../auth/authenticator.js';
import type { TokenVerifier, VerifiedIdentity } from '../auth/principal.js';
import type { Actor } from './access.js';


export interface ActorSources {
  readonly bootstrapDigest: Buffer | undefined;
  readonly snapshot: () => ControlSnapshot;
  readonly tenants: () => Readonly<Record<string, ResolvedTenant>>;
  readonly identity: TokenVerifier | undefined;
  readonly clock: Clock;
}

/**
 * The admin API's caller from `Authorization: Bearer …`: the bootstrap credential (admin), an
 * API key made through the admin API (its role on its team), a key from the config file (a
 * member of its tenant: no admin rights), or a JWT from the identity provider (roles from its
 * claims and from the user's memberships in the store). Throws 401 for anything else.
 */
export async function resolveActor(header: string | undefined, sources: ActorSources): Promise<Actor> {
  if (header === undefined || header === '') throw new GatewayError('missing_api_key', 'The admin API needs "Authorization: Bearer <admin key or token>".');
  const credential = bearerPattern.exec(header)?.[1];
  if (credential === undefined) throw new GatewayError('invalid_api_key', 'Incorrect API key provided.');
  const digest = createHash('sha256').update(credential, 'latin1').digest();
  if (sources.bootstrapDigest && timingSafeEqual(digest, sources.bootstrapDigest)) {
    return { audit: { id: 'bootstrap', type: 'bootstrap' }, globalRole: 'admin', teamRoles: new Map() };
  }
  const hex = digest.toString('hex');
  const entry = sources.snapshot().keys.get(hex);
  if (entry) {
    const now = sources.clock.wallMs();
    const { key } = entry;
    if ((key.expiresAtMs !== undefined && now >= key.expiresAtMs) || (entry.retiresAtMs !== undefined && now >= entry.retiresAtMs)) {
      throw new GatewayError('api_key_expired', 'This API key has expired.');
    }
    return { audit: { id: key.id, type: 'key' }, globalRole: undefined, teamRoles: new Map([[key.team, key.role]]) };
  }
  for (const [name, tenant] of Object.entries(sources.tenants())) {
    if (tenant.keyDigests.includes(hex)) return { audit: { id: `config:${name}`, type: 'key' }, globalRole: undefined, teamRoles: new Map([[name, 'member' as const]]) };
  }
  if (sources.identity?.looksLikeJwt(credential)) {
    let identity: VerifiedIdentity;
    try {
      identity = sources.identity.cached(credential) ?? (await sources.identity.verify(credential));
    } catch (err) {
      throw new GatewayError('invalid_token', err instanceof Error ? err.message : 'The token was refused.', { cause: err });
    }
    // Whatever the identity provider signed, a subject or team PostgreSQL cannot store (U+0000,
    // an unpaired surrogate) would fail every audit write of this caller's calls.
    if (!storable(identity.subject) || (identity.team !== undefined && !storable(identity.team))) {
      throw new GatewayError('invalid_token', 'The token was refused: its subject or team holds characters that cannot be stored.');
    }
    return actorOf(identity, sources.snapshot());
  }
  throw new GatewayError('invalid_api_key', 'Incorrect API key provided.');
}

/**
 * A person's roles: `admin` from the token is global; other roles from the token apply to the
 * team it names (or, with no team, `viewer` is global and the rest are ignored); the store's
 * user record adds its global role and team memberships.
 */
export function actorOf(identity: VerifiedIdentity, snapshot: ControlSnapshot): Actor {
  const user = snapshot.users.get(identity.subject);
  let globalRole: Actor['globalRole'] = user?.role ?? undefined;
  const teamRoles = new Map<string, KeyRole>(user?.teams ?? []);
  for (const role of identity.roles) {
    if (role === 'admin') globalRole = 'admin';
    else if (identity.team !== undefined) teamRoles.set(identity.team, strongest(teamRoles.get(identity.team), role));
    else if (role === 'viewer' && globalRole === undefined) globalRole = 'viewer';
  }
  return { audit: { id: identity.subject, type: 'user' }, globalRole, teamRoles };
}

const rank: Record<KeyRole, number> = { team_admin: 3, member: 2, viewer: 1 };

function strongest(a: KeyRole | undefined, b: KeyRole): KeyRole {
  return a === undefined || rank[b] > rank[a] ? b : a;
}

const unstorable = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function storable(value: string): boolean {
  return !unstorable.test(value);
}
