import { createHash } from 'node:crypto';
import type { ResolvedTenant } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Principal } from './principal.js';

/** RFC 6750 b64token, bounded: anything else (spaces, non-ASCII, homoglyphs, 10 KB tokens) is refused. */
const bearerPattern = /^Bearer ([A-Za-z0-9._~+/-]{1,512}=*)$/i;
// Kept in step with tenantKeyPattern in config/schema.ts, so every configured key can log in.

/**
 * Maps `Authorization: Bearer <key>` to a tenant. Keys are looked up by SHA-256 digest, so the
 * time taken does not depend on how much of a stored key matches, and plain keys are never kept.
 */
export class Authenticator {
  readonly #byDigest = new Map<string, Principal>();

  constructor(tenants: Readonly<Record<string, ResolvedTenant>>) {
    for (const [name, t] of Object.entries(tenants)) {
      const principal = makePrincipal(name, t);
      for (const digest of t.keyDigests) this.#byDigest.set(digest, principal);
    }
  }

  /**
   * The principal for an Authorization header; throws missing_api_key or invalid_api_key (401).
   * `acceptsXApiKey`: the route also takes the key as `x-api-key` (Anthropic's surface, where the
   * edge has already turned that header into `header`), so a missing key names both ways.
   */
  authenticate(header: string | undefined, acceptsXApiKey = false): Principal {
    if (header === undefined || header === '') {
      const how = acceptsXApiKey ? '"x-api-key: <key>" or "Authorization: Bearer <key>"' : '"Authorization: Bearer <key>"';
      throw new GatewayError('missing_api_key', `You did not provide an API key. Send it as ${how}.`);
    }
    const match = bearerPattern.exec(header);
    // Malformed and unknown keys take the same path (hash + lookup) so they cost the same.
    const digest = createHash('sha256').update(match?.[1] ?? header, 'latin1').digest('hex');
    const principal = this.#byDigest.get(digest);
    if (!match || !principal) throw new GatewayError('invalid_api_key', 'Incorrect API key provided.');
    return principal;
  }
}

function makePrincipal(name: string, t: ResolvedTenant): Principal {
  const all = t.models.includes('*');
  const allowed = new Set(t.models);
  return {
    tenant: name,
    mayUse: (alias) => all || allowed.has(alias),
    // Own properties only: an alias named like an Object.prototype member must not match one.
    limitsFor: (alias) => (t.modelLimits && Object.hasOwn(t.modelLimits, alias) ? t.modelLimits[alias] : undefined) ?? t.limits,
    ...(t.concurrency ? { concurrency: t.concurrency } : {}),
  };
}
