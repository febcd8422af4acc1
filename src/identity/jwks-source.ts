import { createLocalJWKSet, type CryptoKey, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters, type LocalJWKSet } from 'jose';
import type { Clock } from '../clock.js';
import { fetchJson } from './bounded-fetch.js';
import { endpointUrlIssue } from './endpoint-url.js';
import { IdentityError } from './identity-error.js';

/** More keys than any real identity provider publishes; a larger set is refused, not scanned per token. */
export const maxJwksKeys = 100;

export interface JwksSourceOptions {
  /** The configured issuer; discovery must name exactly this one. */
  readonly issuer: string;
  /** The configured JWKS URL; without it, OIDC discovery finds one. */
  readonly jwksUrl: string | undefined;
  /** Least time between the end of one fetch attempt and the start of the next. */
  readonly cooldownMs: number;
  /** Keys (and a discovered jwks_uri) older than this are refetched before use. */
  readonly maxAgeMs: number;
  /** One deadline for a whole refresh: discovery and JWKS together. */
  readonly fetchTimeoutMs: number;
  /** Intervals are measured with `clock.nowMs()` (monotonic). */
  readonly clock: Clock;
}

/**
 * The identity provider's signing keys, as a key resolver for jose's jwtVerify. Written here
 * rather than with jose's createRemoteJWKSet because that one: rate-limits refetches only after a
 * successful fetch (an IdP that is down would be fetched once per token), fails every token once
 * its keys are stale and the IdP is down, reads bodies without a size bound, and measures time
 * with Date.now() (tests could not move it).
 *
 * Rules: every fetch attempt, successful or not, starts a cooldown; concurrent callers share one
 * refresh; keys past `maxAgeMs` are refetched before use but kept if that fails (an IdP outage
 * does not log everyone out; a key the IdP withdraws stops verifying at its next successful fetch).
 */
export class JwksSource {
  readonly #options: JwksSourceOptions;
  readonly #configuredUrl: URL | undefined;
  #keys: LocalJWKSet | undefined;
  #keysAtMs = 0;
  #discovered: { readonly url: URL; readonly atMs: number } | undefined;
  #lastAttemptEndMs: number | undefined;
  #refreshing: Promise<void> | undefined;
  #lastFailure: string | undefined;
  #fetches = 0;

  constructor(options: JwksSourceOptions) {
    this.#options = options;
    this.#configuredUrl = options.jwksUrl === undefined ? undefined : new URL(options.jwksUrl);
  }

  /** Refresh attempts started so far (discovery + JWKS count as one). */
  get refreshCount(): number {
    return this.#fetches;
  }

  /** The key that verifies a token with this header; throws IdentityError. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    if (this.#keys === undefined || this.#options.clock.nowMs() - this.#keysAtMs >= this.#options.maxAgeMs) await this.#refreshIfAllowed();
    const keys = this.#keys;
    if (keys === undefined) throw new IdentityError('jwks_unavailable', this.#lastFailure ?? 'no signing keys fetched yet (cooling down)');
    try {
      return await keys(header, token);
    } catch (err) {
      if (!isNoMatchingKey(err)) throw keyError(err);
    }
    // No published key matches: the IdP may have rotated its keys since the last fetch.
    await this.#refreshIfAllowed();
    const current = this.#keys;
    if (current !== undefined && current !== keys) {
      try {
        return await current(header, token);
      } catch (err) {
        if (!isNoMatchingKey(err)) throw keyError(err);
      }
    }
    throw new IdentityError('unknown_key', "no published key matches the token's kid and alg");
  };

  /** Joins the refresh in flight, or starts one unless the cooldown forbids it. */
  async #refreshIfAllowed(): Promise<void> {
    if (this.#refreshing === undefined) {
      const last = this.#lastAttemptEndMs;
      if (last !== undefined && this.#options.clock.nowMs() - last < this.#options.cooldownMs) return;
      this.#fetches++;
      this.#refreshing = this.#refresh().finally(() => {
        // The cooldown runs from the end of the attempt, so one request never waits for two.
        this.#lastAttemptEndMs = this.#options.clock.nowMs();
        this.#refreshing = undefined;
      });
    }
    await this.#refreshing;
  }

  /** Never rejects: a failure is kept in #lastFailure for the error's detail. */
  async #refresh(): Promise<void> {
    const signal = AbortSignal.timeout(this.#options.fetchTimeoutMs);
    try {
      const url = this.#configuredUrl ?? (await this.#discover(signal));
      const document = await fetchJson(url, signal);
      const count = isObject(document) && Array.isArray(document.keys) ? document.keys.length : 0;
      if (count > maxJwksKeys) throw new Error(`${url.href}: ${count} keys, more than ${maxJwksKeys}`);
      let keys: LocalJWKSet;
      try {
        keys = createLocalJWKSet(document as JSONWebKeySet);
      } catch {
        throw new Error(`${url.href}: not a JSON Web Key Set`);
      }
      this.#keys = keys;
      this.#keysAtMs = this.#options.clock.nowMs();
      this.#lastFailure = undefined;
    } catch (err) {
      this.#lastFailure = err instanceof Error ? err.message : 'key refresh failed';
      // The jwks_uri may have moved: ask discovery again next time.
      this.#discovered = undefined;
    }
  }

  /** OIDC discovery: the issuer's jwks_uri, remembered for maxAgeMs. */
  async #discover(signal: AbortSignal): Promise<URL> {
    const known = this.#discovered;
    if (known !== undefined && this.#options.clock.nowMs() - known.atMs < this.#options.maxAgeMs) return known.url;
    const { issuer } = this.#options;
    const url = new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
    const document = await fetchJson(url, signal);
    if (!isObject(document)) throw new Error(`${url.href}: not a JSON object`);
    // OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was fetched for.
    if (document.issuer !== issuer) throw new Error(`${url.href}: names a different issuer than ${issuer}`);
    const jwksUri = document.jwks_uri;
    if (typeof jwksUri !== 'string') throw new Error(`${url.href}: has no jwks_uri`);
    const issue = endpointUrlIssue(jwksUri);
    if (issue !== undefined) throw new Error(`${url.href}: jwks_uri ${issue}`);
    const found = new URL(jwksUri);
    this.#discovered = { url: found, atMs: this.#options.clock.nowMs() };
    return found;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function codeOf(err: unknown): unknown {
  return err instanceof Error ? (err as { code?: unknown }).code : undefined;
}

function isNoMatchingKey(err: unknown): boolean {
  return codeOf(err) === 'ERR_JWKS_NO_MATCHING_KEY';
}

/** A failure to pick or import a published key. */
function keyError(err: unknown): IdentityError {
  switch (codeOf(err)) {
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new IdentityError('unknown_key', 'the token names no kid and several published keys match it');
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new IdentityError('algorithm', 'the token alg cannot be used with a key set');
    default:
      // A published key jose cannot import (bad parameters, RSA under 2048 bits): the IdP's problem.
      return new IdentityError('jwks_unavailable', `a published key could not be used (${err instanceof Error ? err.name : 'error'})`);
  }
}
