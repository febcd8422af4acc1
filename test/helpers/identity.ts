/** Company sign-in for integration tests: tokens from the fake identity provider (src/testing/fake-idp.ts). */
import type { JWTPayload } from 'jose';
import type { FakeIdp, FakeIdpKey } from '../../src/testing/fake-idp.js';

export const AUDIENCE = 'llm-gateway';

/** The `identity` config block for a gateway that trusts `idp` (JWKS URL given, no discovery). */
export function identityConfig(idp: FakeIdp, jwt: Record<string, unknown> = {}): Record<string, unknown> {
  return { jwt: { issuer: idp.issuer, audience: AUDIENCE, jwksUrl: idp.jwksUrl, ...jwt } };
}

/**
 * A token signed by `key`: valid for an hour from now for AUDIENCE and the IdP's issuer, with
 * `claims` added (an undefined value removes a claim).
 */
export async function signToken(idp: FakeIdp, key: FakeIdpKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const all: Record<string, unknown> = { iss: idp.issuer, aud: AUDIENCE, iat: now, exp: now + 3_600, ...claims };
  return idp.sign(key, Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as JWTPayload, header);
}
