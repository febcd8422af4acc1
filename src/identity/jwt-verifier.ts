import { createHash } from 'node:crypto';
import { jwtVerify, type JWTVerifyOptions } from 'jose';
import { systemClock, type Clock } from '../clock.js';
import { ClaimMapper, type VerifiedIdentity } from './claim-mapper.js';
import type { JwtIdentityConfig } from './config.js';
import { IdentityError } from './identity-error.js';
import { JwksSource } from './jwks-source.js';
import { VerifiedCache } from './verified-cache.js';

export type { VerifiedIdentity } from './claim-mapper.js';
export { IdentityError, type IdentityErrorReason } from './identity-error.js';
export { roles, type Role } from './roles.js';

/** Longest token considered; real access tokens are 1-2 KiB. */
export const maxJwtLength = 8192;

const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Whether a bearer credential has the shape of a compact JWT (three base64url segments, at most
 * 8192 characters), so the authenticator can tell it from an API key without decoding anything.
 * The signature segment may be empty so that an unsigned (`alg: none`) token is refused as such.
 */
export function looksLikeJwt(token: string): boolean {
  return token.length <= maxJwtLength && compactJws.test(token);
}

export interface JwtVerifierOptions {
  /** Token times use `wallMs()`, key refetch cooldowns `nowMs()`. Default: the system clock. */
  readonly clock?: Clock;
}

/**
 * Verifies access tokens from the company's identity provider (config `identity.jwt`): signature
 * against the provider's JWKS, allowed algorithm, issuer, audience, exp/nbf with a leeway; then
 * maps claims to a VerifiedIdentity. Verified tokens are cached until their `exp`.
 */
export class JwtVerifier {
  /** Cheap shape test (the authenticator's TokenVerifier): three base64url segments, bounded length. */
  looksLikeJwt(token: string): boolean {
    return looksLikeJwt(token);
  }

  readonly #clock: Clock;
  readonly #jwks: JwksSource;
  readonly #claims: ClaimMapper;
  readonly #cache: VerifiedCache<VerifiedIdentity>;
  readonly #inFlight = new Map<string, Promise<VerifiedIdentity>>();
  readonly #options: Omit<JWTVerifyOptions, 'currentDate'>;

  constructor(config: JwtIdentityConfig, options: JwtVerifierOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#jwks = new JwksSource({
      issuer: config.issuer,
      jwksUrl: config.jwksUrl,
      cooldownMs: config.jwksCooldownMs,
      maxAgeMs: config.jwksCacheMaxAgeMs,
      fetchTimeoutMs: config.fetchTimeoutMs,
      clock: this.#clock,
    });
    this.#claims = new ClaimMapper(config);
    this.#cache = new VerifiedCache(config.cacheMaxEntries);
    this.#options = {
      issuer: config.issuer,
      audience: typeof config.audience === 'string' ? config.audience : [...config.audience],
      algorithms: [...config.algorithms],
      clockTolerance: config.clockToleranceSeconds,
      // Without exp a token would be valid forever (and cached forever).
      requiredClaims: ['exp'],
    };
  }

  /**
   * The identity of a token verified before and not expired by the clock, without awaiting
   * anything: one SHA-256 and a map lookup (no JSON parsing, no signature check).
   */
  cached(token: string): VerifiedIdentity | undefined {
    if (token.length > maxJwtLength) return undefined;
    return this.#cache.get(digestOf(token), this.#clock.wallMs());
  }

  /** The identity a token names; rejects with IdentityError. */
  async verify(token: string): Promise<VerifiedIdentity> {
    if (!looksLikeJwt(token)) throw new IdentityError('malformed', `not three base64url segments of at most ${maxJwtLength} characters`);
    const digest = digestOf(token);
    const hit = this.#cache.get(digest, this.#clock.wallMs());
    if (hit !== undefined) return hit;
    // Concurrent requests with the same token share one verification.
    let pending = this.#inFlight.get(digest);
    if (pending === undefined) {
      pending = this.#verifyUncached(token, digest).finally(() => this.#inFlight.delete(digest));
      this.#inFlight.set(digest, pending);
    }
    return pending;
  }

  /** Key refresh attempts (discovery + JWKS) so far, for metrics and tests. */
  get jwksRefreshCount(): number {
    return this.#jwks.refreshCount;
  }

  async #verifyUncached(token: string, digest: string): Promise<VerifiedIdentity> {
    let payload: Readonly<Record<string, unknown>>;
    try {
      ({ payload } = await jwtVerify(token, this.#jwks.getKey, { ...this.#options, currentDate: new Date(this.#clock.wallMs()) }));
    } catch (err) {
      throw toIdentityError(err);
    }
    // jose has checked that exp is present and a number.
    const identity = this.#claims.identity(payload, (payload.exp as number) * 1000);
    this.#cache.set(digest, identity, this.#clock.wallMs());
    return identity;
  }
}

function digestOf(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}

/**
 * jose's errors as IdentityErrors. Only jose's own fixed messages go into `detail`: its claim
 * errors also carry the claims set, which is dropped here.
 */
function toIdentityError(err: unknown): IdentityError {
  if (err instanceof IdentityError) return err;
  const { code, claim, reason, name, message } = err instanceof Error ? (err as Error & { code?: unknown; claim?: unknown; reason?: unknown }) : { code: undefined, claim: undefined, reason: undefined, name: 'Error', message: String(err) };
  const detail = `${name}: ${message}`;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new IdentityError('expired', detail);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') return new IdentityError('issuer', detail);
      if (claim === 'aud') return new IdentityError('audience', detail);
      if (claim === 'nbf' && reason === 'check_failed') return new IdentityError('not_yet_valid', detail);
      if (reason === 'missing') return new IdentityError('missing_claim', detail);
      return new IdentityError('malformed', detail);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new IdentityError('algorithm', detail);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new IdentityError('signature', detail);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new IdentityError('malformed', detail);
    default:
      // e.g. an RSA key under 2048 bits: the signature cannot be trusted.
      return new IdentityError('signature', detail);
  }
}
