import type { TokenVerifier, VerifiedIdentity } from './principal.js';

/**
 * Stands in for the identity provider's verifier until it is loaded (at listen, so a gateway
 * without `identity` never loads jose). Until then no token looks like a JWT: none is accepted.
 */
export class DeferredVerifier implements TokenVerifier {
  target: TokenVerifier | undefined;

  looksLikeJwt(token: string): boolean {
    return this.target?.looksLikeJwt(token) ?? false;
  }

  cached(token: string): VerifiedIdentity | undefined {
    return this.target?.cached(token);
  }

  verify(token: string): Promise<VerifiedIdentity> {
    return this.target ? this.target.verify(token) : Promise.reject(new Error('Company sign-in is not ready yet.'));
  }
}
