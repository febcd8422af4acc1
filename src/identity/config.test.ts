import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { identitySchema, jwtIdentitySchema } from './config.js';

const base = { issuer: 'https://login.example.com/', audience: 'llm-gateway' };

/** The messages of every issue for `jwt`, as `path: message`. */
function problems(jwt: Record<string, unknown>): string[] {
  const result = identitySchema.safeParse({ jwt });
  return result.success ? [] : result.error.issues.map((i) => `${i.path.slice(1).join('.')}: ${i.message}`);
}

describe('identity config schema', () => {
  it('fills every default', () => {
    expect(identitySchema.parse({ jwt: base })).toEqual({
      jwt: {
        issuer: 'https://login.example.com/',
        audience: 'llm-gateway',
        algorithms: ['RS256', 'ES256', 'EdDSA'],
        clockToleranceSeconds: 30,
        claims: { subject: 'sub', team: 'team', roles: 'roles', email: 'email' },
        defaultRole: 'member',
        jwksCooldownMs: 30_000,
        jwksCacheMaxAgeMs: 600_000,
        fetchTimeoutMs: 5_000,
        cacheMaxEntries: 10_000,
      },
    });
  });

  it('accepts https anywhere and http only to loopback hosts', () => {
    for (const issuer of ['https://idp.example.com', 'http://127.0.0.1:8080', 'http://localhost:9000/realms/x', 'http://[::1]:1/']) {
      expect(problems({ ...base, issuer }), issuer).toEqual([]);
    }
    expect(problems({ ...base, issuer: 'http://idp.example.com' })).toEqual([expect.stringMatching(/^issuer: must be an https:\/\/ URL/)]);
    expect(problems({ ...base, issuer: 'http://10.0.0.1' })).toHaveLength(1);
    expect(problems({ ...base, issuer: 'ftp://idp.example.com' })).toHaveLength(1);
    expect(problems({ ...base, issuer: 'idp.example.com' })).toEqual(['issuer: must be an absolute URL']);
    expect(problems({ ...base, issuer: 'https://idp.example.com/?tenant=1' })).toEqual(['issuer: must not have a query']);
    expect(problems({ ...base, issuer: 'https://user:pw@idp.example.com' })).toEqual(['issuer: must not hold credentials']);
    expect(problems({ ...base, jwksUrl: 'http://idp.example.com/jwks' })).toEqual([expect.stringMatching(/^jwksUrl: must be an https:\/\/ URL/)]);
    expect(problems({ ...base, jwksUrl: 'https://idp.example.com/jwks' })).toEqual([]);
  });

  it('takes one audience or a non-empty list', () => {
    expect(problems({ ...base, audience: ['a', 'b'] })).toEqual([]);
    expect(problems({ ...base, audience: [] })).toHaveLength(1);
    expect(problems({ ...base, audience: '' })).toHaveLength(1);
  });

  it("refuses 'none' and HMAC algorithms with a message saying why", () => {
    expect(problems({ ...base, algorithms: ['none'] })).toEqual(["algorithms.0: 'none' (unsigned tokens) is never accepted"]);
    const [hmac] = problems({ ...base, algorithms: ['RS256', 'HS256'] });
    expect(hmac).toMatch(/^algorithms\.1: HS256 is refused: HMAC needs a shared secret.*algorithm confusion/);
    expect(problems({ ...base, algorithms: ['XX1'] })).toEqual([expect.stringMatching(/^algorithms\.0: must be one of RS256, RS384/)]);
    expect(problems({ ...base, algorithms: [] })).toHaveLength(1);
    expect(problems({ ...base, algorithms: ['PS256', 'ES384', 'EdDSA'] })).toEqual([]);
  });

  it('bounds the clock tolerance and the timings', () => {
    expect(problems({ ...base, clockToleranceSeconds: 300 })).toEqual([]);
    expect(problems({ ...base, clockToleranceSeconds: 301 })).toHaveLength(1);
    expect(problems({ ...base, clockToleranceSeconds: -1 })).toHaveLength(1);
    expect(problems({ ...base, jwksCooldownMs: 0 })).toHaveLength(1);
    expect(problems({ ...base, fetchTimeoutMs: 10 })).toHaveLength(1);
    expect(problems({ ...base, cacheMaxEntries: 0 })).toEqual([]);
  });

  it('takes claim paths as dot paths or as arrays of literal segments', () => {
    expect(problems({ ...base, claims: { roles: 'realm_access.roles', team: ['https://example.com/team'] } })).toEqual([]);
    expect(problems({ ...base, claims: { team: 'https://example.com/team' } })).toEqual([
      'claims.team: a dot path cannot hold \':\' or \'/\'; write a namespaced claim as an array of segments, e.g. ["https://example.com/team"]',
    ]);
    expect(problems({ ...base, claims: { team: 'a..b' } })).toHaveLength(1);
    expect(problems({ ...base, claims: { team: [] } })).toHaveLength(1);
    expect(problems({ ...base, claims: { team: ['ok', ''] } })).toHaveLength(1);
    expect(problems({ ...base, claims: { group: 'g' } })).toHaveLength(1);
  });

  it('maps IdP values only to known roles', () => {
    expect(problems({ ...base, roleMap: { 'gw-admins': 'admin', engineers: 'member' }, defaultRole: 'viewer' })).toEqual([]);
    expect(problems({ ...base, roleMap: { root: 'superuser' } })).toHaveLength(1);
    expect(problems({ ...base, defaultRole: 'owner' })).toHaveLength(1);
  });

  it('refuses unknown keys and a missing jwt block', () => {
    expect(problems({ ...base, issuerUrl: 'x' })).toHaveLength(1);
    expect(identitySchema.safeParse({}).success).toBe(false);
    expect(identitySchema.safeParse({ jwt: base, saml: {} }).success).toBe(false);
  });

  it('converts to JSON Schema for the configuration docs', () => {
    const schema = z.toJSONSchema(jwtIdentitySchema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, { default?: unknown }> };
    expect(schema.properties.jwksCooldownMs?.default).toBe(30_000);
    expect(Object.keys(schema.properties)).toContain('roleMap');
  });
});
