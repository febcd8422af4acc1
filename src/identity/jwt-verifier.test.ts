import { createPublicKey, randomUUID } from 'node:crypto';
import { base64url, exportSPKI, SignJWT, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../clock.js';
import { FakeIdp, type FakeIdpKey } from '../testing/fake-idp.js';
import { jwtIdentitySchema, type JwtIdentityConfigInput } from './config.js';
import { IdentityError, JwtVerifier, looksLikeJwt, type IdentityErrorReason } from './jwt-verifier.js';

const audience = 'llm-gateway';
let idp: FakeIdp;
let rsa: FakeIdpKey;
let ec: FakeIdpKey;
let ed: FakeIdpKey;

beforeAll(async () => {
  idp = await FakeIdp.start();
  rsa = await idp.addKey('RS256');
  ec = await idp.addKey('ES256');
  ed = await idp.addKey('EdDSA');
});

afterAll(async () => {
  await idp.close();
});

afterEach(() => {
  idp.jwksMode = 'ok';
  idp.discoveryDocument = undefined;
  idp.publish([rsa.kid, ec.kid, ed.kid]);
  vi.restoreAllMocks();
});

/** A verifier with its own hand-moved clock (wall time starts now, so tokens are signed for it). */
function setup(overrides: Partial<JwtIdentityConfigInput> = {}): { verifier: JwtVerifier; clock: ManualClock } {
  const clock = new ManualClock(0, Date.now());
  const config = jwtIdentitySchema.parse({ issuer: idp.issuer, audience, ...overrides });
  return { verifier: new JwtVerifier(config, { clock }), clock };
}

function nowSeconds(clock: ManualClock): number {
  return Math.floor(clock.wallMs() / 1000);
}

/** Claims of a valid token for `clock`, with `extra` added (an undefined value removes a claim). */
function claims(clock: ManualClock, extra: Record<string, unknown> = {}): JWTPayload {
  const now = nowSeconds(clock);
  const all: Record<string, unknown> = { iss: idp.issuer, aud: audience, sub: 'user-1', team: 'search', roles: ['member'], email: 'ada@example.com', iat: now, exp: now + 300, ...extra };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

/**
 * The IdentityError `verify` rejects with; also checks that neither its message nor its detail
 * repeats the token or any part of it.
 */
async function refusal(verifier: JwtVerifier, token: string): Promise<IdentityError> {
  const err = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IdentityError);
  const { message, detail } = err as IdentityError;
  for (const part of [token, ...token.split('.').filter((s) => s.length > 8)]) {
    expect(message).not.toContain(part);
    expect(detail ?? '').not.toContain(part);
  }
  return err as IdentityError;
}

async function reasonOf(verifier: JwtVerifier, token: string): Promise<IdentityErrorReason> {
  return (await refusal(verifier, token)).reason;
}

/** `token` with its payload replaced by `payload` (the signature left as it was). */
function withPayload(token: string, payload: Record<string, unknown>): string {
  const [header = '', , signature = ''] = token.split('.');
  return `${header}.${base64url.encode(JSON.stringify(payload))}.${signature}`;
}

/** An unsigned token (`alg: none`). */
function unsigned(header: Record<string, unknown>, payload: JWTPayload): string {
  return `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}.`;
}

describe('looksLikeJwt', () => {
  it('takes three base64url segments of at most 8192 characters', () => {
    expect(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).toBe(true);
    expect(looksLikeJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')).toBe(true);
    expect(looksLikeJwt('sk-demo-123')).toBe(false);
    expect(looksLikeJwt('a.b')).toBe(false);
    expect(looksLikeJwt('a.b.c.d')).toBe(false);
    expect(looksLikeJwt('a+b.c/d.e=')).toBe(false);
    expect(looksLikeJwt(`${'a'.repeat(8188)}.b.c`)).toBe(true);
    expect(looksLikeJwt(`${'a'.repeat(8189)}.b.c`)).toBe(false);
  });
});

describe('JwtVerifier', () => {
  it.each([
    ['RS256', () => rsa],
    ['ES256', () => ec],
    ['EdDSA', () => ed],
  ])('accepts a valid %s token found through OIDC discovery', async (_alg, key) => {
    const { verifier, clock } = setup();
    const before = { ...idp.requests };
    const exp = nowSeconds(clock) + 300;
    const identity = await verifier.verify(await idp.sign(key(), claims(clock, { exp })));
    expect(identity).toEqual({ subject: 'user-1', issuer: idp.issuer, team: 'search', roles: ['member'], email: 'ada@example.com', expiresAtMs: exp * 1000 });
    expect(Object.isFrozen(identity)).toBe(true);
    expect(idp.requests).toEqual({ discovery: before.discovery + 1, jwks: before.jwks + 1 });
  });

  it('uses jwksUrl as configured, without discovery', async () => {
    const { verifier, clock } = setup({ jwksUrl: idp.jwksUrl, audience: ['other', audience] });
    const before = { ...idp.requests };
    await expect(verifier.verify(await idp.sign(rsa, claims(clock)))).resolves.toMatchObject({ subject: 'user-1' });
    expect(idp.requests).toEqual({ discovery: before.discovery, jwks: before.jwks + 1 });
  });

  it('refuses an expired token, and one not valid yet, beyond the leeway only', async () => {
    const { verifier, clock } = setup();
    const now = nowSeconds(clock);
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock, { exp: now - 31 })))).toBe('expired');
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock, { nbf: now + 120 })))).toBe('not_yet_valid');
    // Within the 30 s leeway: accepted.
    const lateToken = await idp.sign(rsa, claims(clock, { exp: now - 20 }));
    await expect(verifier.verify(lateToken)).resolves.toMatchObject({ expiresAtMs: (now - 20) * 1000 });
    await expect(verifier.verify(await idp.sign(rsa, claims(clock, { nbf: now + 20 })))).resolves.toMatchObject({ subject: 'user-1' });
    // Accepted within the leeway, but never cached beyond its exp.
    expect(verifier.cached(lateToken)).toBeUndefined();
  });

  it('refuses a token for another audience or from another issuer', async () => {
    const { verifier, clock } = setup();
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock, { aud: 'other-service' })))).toBe('audience');
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock, { aud: undefined })))).toBe('audience');
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock, { iss: 'https://evil.example.com' })))).toBe('issuer');
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock, { iss: `${idp.issuer}/` })))).toBe('issuer');
  });

  it('refuses a token without exp or subject', async () => {
    const { verifier, clock } = setup();
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock, { exp: undefined })))).toBe('missing_claim');
    const noSubject = await refusal(verifier, await idp.sign(rsa, claims(clock, { sub: undefined })));
    expect(noSubject.reason).toBe('missing_claim');
    expect(noSubject.detail).toMatch(/claim sub/);
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock, { sub: 42 })))).toBe('missing_claim');
  });

  it('accepts a token without a team claim, with team undefined', async () => {
    const { verifier, clock } = setup();
    const identity = await verifier.verify(await idp.sign(rsa, claims(clock, { team: undefined, roles: ['admin'] })));
    expect(identity.team).toBeUndefined();
    expect(identity.roles).toEqual(['admin']);
    // A team of the wrong type counts as absent.
    await expect(verifier.verify(await idp.sign(rsa, claims(clock, { team: ['a', 'b'] })))).resolves.toMatchObject({ team: undefined });
  });

  it('unknown kid: refused within the cooldown, accepted once the rotated JWKS is refetched', async () => {
    const { verifier, clock } = setup({ jwksUrl: idp.jwksUrl, jwksCooldownMs: 30_000 });
    await verifier.verify(await idp.sign(rsa, claims(clock)));
    const rotated = await idp.addKey('RS256', { publish: false });
    const token = await idp.sign(rotated, claims(clock, { exp: nowSeconds(clock) + 3600 }));
    const before = idp.requests.jwks;
    expect(await reasonOf(verifier, token)).toBe('unknown_key');
    idp.publish([rotated.kid, ec.kid]);
    expect(await reasonOf(verifier, token)).toBe('unknown_key');
    expect(idp.requests.jwks).toBe(before);

    clock.advance(30_000);
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'user-1' });
    expect(idp.requests.jwks).toBe(before + 1);
    // The rotated-out key no longer verifies (the set was replaced, and the cooldown runs again).
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock)))).toBe('unknown_key');
    expect(idp.requests.jwks).toBe(before + 1);
  });

  it('a flood of made-up kids costs at most one JWKS fetch per cooldown, whether the IdP answers or not', async () => {
    const { verifier, clock } = setup({ jwksUrl: idp.jwksUrl, jwksCooldownMs: 10_000 });
    await verifier.verify(await idp.sign(ec, claims(clock)));
    const stranger = await idp.addKey('ES256', { publish: false });
    const flood = async (n: number): Promise<void> => {
      const tokens = await Promise.all(Array.from({ length: n }, () => idp.sign(stranger, claims(clock), { kid: randomUUID() })));
      const reasons = await Promise.all(tokens.map((t) => reasonOf(verifier, t)));
      expect(new Set(reasons)).toEqual(new Set(['unknown_key']));
    };
    const start = idp.requests.jwks;
    await flood(50);
    expect(idp.requests.jwks).toBe(start);

    clock.advance(10_000);
    await flood(50);
    await flood(50);
    expect(idp.requests.jwks).toBe(start + 1);

    // The IdP now fails: a failed fetch starts the cooldown too.
    idp.jwksMode = 'error';
    clock.advance(10_000);
    await flood(50);
    expect(idp.requests.jwks).toBe(start + 2);
    clock.advance(9_999);
    await flood(50);
    expect(idp.requests.jwks).toBe(start + 2);
    // Known keys still verify meanwhile.
    await expect(verifier.verify(await idp.sign(ec, claims(clock, { sub: 'user-2' })))).resolves.toMatchObject({ subject: 'user-2' });
  });

  it('refuses a tampered payload or signature', async () => {
    const { verifier, clock } = setup();
    const token = await idp.sign(rsa, claims(clock));
    expect(await reasonOf(verifier, withPayload(token, claims(clock, { team: 'finance' })))).toBe('signature');
    const [header, payload, signature = ''] = token.split('.');
    const middle = Math.floor(signature.length / 2);
    const flipped = `${signature.slice(0, middle)}${signature[middle] === 'A' ? 'B' : 'A'}${signature.slice(middle + 1)}`;
    expect(await reasonOf(verifier, `${header}.${payload}.${flipped}`)).toBe('signature');
    // A signature of another key under this key's kid.
    const other = await idp.sign(ec, claims(clock));
    expect(await reasonOf(verifier, `${header}.${payload}.${other.split('.')[2]}`)).toBe('signature');
  });

  it('refuses algorithm confusion: HS256 keyed with the public key, and alg none', async () => {
    const { verifier, clock } = setup();
    const pem = await exportSPKI(createPublicKey({ key: rsa.publicJwk as never, format: 'jwk' }) as never);
    for (const secret of [pem, JSON.stringify(rsa.publicJwk)]) {
      const forged = await new SignJWT(claims(clock, { roles: ['admin'] })).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(new TextEncoder().encode(secret));
      expect(await reasonOf(verifier, forged)).toBe('algorithm');
    }
    for (const alg of ['none', 'None', 'NONE']) {
      expect(await reasonOf(verifier, unsigned({ alg, kid: rsa.kid }, claims(clock, { roles: ['admin'] })))).toBe('algorithm');
    }
    // An ES256 header naming the RSA key: no published key fits both, so it is refused.
    const mixed = `${base64url.encode(JSON.stringify({ alg: 'ES256', kid: rsa.kid }))}.${(await idp.sign(ec, claims(clock))).split('.').slice(1).join('.')}`;
    expect(await reasonOf(verifier, mixed)).toBe('unknown_key');
  });

  it('refuses an algorithm left out of the allowed list', async () => {
    const { verifier, clock } = setup({ algorithms: ['ES256'] });
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock)))).toBe('algorithm');
    expect(await reasonOf(verifier, await idp.sign(ed, claims(clock)))).toBe('algorithm');
    await expect(verifier.verify(await idp.sign(ec, claims(clock)))).resolves.toMatchObject({ subject: 'user-1' });
  });

  it('maps roles by name without a roleMap, and only through it with one', async () => {
    const byName = setup();
    const sign = (roles: unknown): Promise<string> => idp.sign(rsa, claims(byName.clock, { roles }));
    await expect(byName.verifier.verify(await sign(['viewer', 'superuser', 7, 'admin']))).resolves.toMatchObject({ roles: ['admin', 'viewer'] });
    await expect(byName.verifier.verify(await sign('team_admin'))).resolves.toMatchObject({ roles: ['team_admin'] });
    await expect(byName.verifier.verify(await sign(undefined))).resolves.toMatchObject({ roles: ['member'] });
    await expect(byName.verifier.verify(await sign(['nobody']))).resolves.toMatchObject({ roles: ['member'] });

    const mapped = setup({ roleMap: { 'gw-admins': 'admin', engineers: 'member' }, defaultRole: 'viewer', claims: { roles: 'groups' } });
    const groups = (groups: unknown): Promise<string> => idp.sign(rsa, claims(mapped.clock, { roles: undefined, groups }));
    await expect(mapped.verifier.verify(await groups(['engineers', 'gw-admins']))).resolves.toMatchObject({ roles: ['admin', 'member'] });
    // With a roleMap, a group literally named like a role grants nothing.
    await expect(mapped.verifier.verify(await groups(['admin', 'marketing']))).resolves.toMatchObject({ roles: ['viewer'] });
    await expect(mapped.verifier.verify(await groups(['constructor', '__proto__', 'toString']))).resolves.toMatchObject({ roles: ['viewer'] });
  });

  it('reads namespaced and nested claims', async () => {
    const { verifier, clock } = setup({
      claims: { team: ['https://example.com/team'], roles: 'realm_access.roles', subject: ['https://example.com/claims', 'uid'], email: ['mail'] },
    });
    const token = await idp.sign(
      rsa,
      claims(clock, {
        team: 'wrong',
        roles: undefined,
        'https://example.com/team': 'search',
        'https://example.com/claims': { uid: 'u-77' },
        realm_access: { roles: ['team_admin'] },
        mail: 'grace@example.com',
      }),
    );
    await expect(verifier.verify(token)).resolves.toEqual(expect.objectContaining({ subject: 'u-77', team: 'search', roles: ['team_admin'], email: 'grace@example.com' }));
    // Prototype members are not claims.
    const proto = setup({ claims: { team: 'constructor.name' } });
    await expect(proto.verifier.verify(await idp.sign(rsa, claims(proto.clock)))).resolves.toMatchObject({ team: undefined });
  });

  it('a hanging JWKS endpoint fails the token with jwks_unavailable once fetchTimeoutMs passes', async () => {
    const { verifier, clock } = setup({ jwksUrl: idp.jwksUrl, fetchTimeoutMs: 200 });
    idp.jwksMode = 'hang';
    const closed = idp.heldRequestClosed();
    const err = await refusal(verifier, await idp.sign(rsa, claims(clock)));
    expect(err.reason).toBe('jwks_unavailable');
    expect(err.detail).toMatch(/timed out/);
    // The verifier gave up on the request (its side closed the connection).
    await closed;
  });

  it.each(['oversized', 'oversizedChunked'] as const)('refuses a JWKS over 1 MiB (%s)', async (mode) => {
    const { verifier, clock } = setup({ jwksUrl: idp.jwksUrl });
    idp.jwksMode = mode;
    const err = await refusal(verifier, await idp.sign(rsa, claims(clock)));
    expect(err.reason).toBe('jwks_unavailable');
    expect(err.detail).toMatch(/exceeds 1048576/);
  });

  it('refuses a discovery document that names another issuer or a clear-text jwks_uri', async () => {
    idp.discoveryDocument = { issuer: 'https://someone-else.example.com', jwks_uri: idp.jwksUrl };
    const wrongIssuer = setup();
    const err = await refusal(wrongIssuer.verifier, await idp.sign(rsa, claims(wrongIssuer.clock)));
    expect(err.reason).toBe('jwks_unavailable');
    expect(err.detail).toMatch(/different issuer/);

    idp.discoveryDocument = { issuer: idp.issuer, jwks_uri: 'http://keys.example.com/jwks' };
    const clearText = setup();
    const err2 = await refusal(clearText.verifier, await idp.sign(rsa, claims(clearText.clock)));
    expect(err2.reason).toBe('jwks_unavailable');
    expect(err2.detail).toMatch(/jwks_uri must be an https/);
  });

  it('an IdP down at the first token is retried after the cooldown, not per token', async () => {
    const { verifier, clock } = setup({ jwksCooldownMs: 5_000 });
    idp.jwksMode = 'error';
    const before = { ...idp.requests };
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock)))).toBe('jwks_unavailable');
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock, { sub: 'b' })))).toBe('jwks_unavailable');
    expect(idp.requests).toEqual({ discovery: before.discovery + 1, jwks: before.jwks + 1 });
    idp.jwksMode = 'ok';
    clock.advance(5_000);
    await expect(verifier.verify(await idp.sign(rsa, claims(clock)))).resolves.toMatchObject({ subject: 'user-1' });
    // Discovery is asked again after a failed fetch (the jwks_uri may have moved).
    expect(idp.requests).toEqual({ discovery: before.discovery + 2, jwks: before.jwks + 2 });
  });

  it('refetches keys older than jwksCacheMaxAgeMs, and keeps them if that fails', async () => {
    const { verifier, clock } = setup({ jwksUrl: idp.jwksUrl, jwksCacheMaxAgeMs: 60_000, jwksCooldownMs: 5_000 });
    await verifier.verify(await idp.sign(rsa, claims(clock)));
    const before = idp.requests.jwks;
    clock.advance(59_999);
    await verifier.verify(await idp.sign(rsa, claims(clock, { sub: 'b' })));
    expect(idp.requests.jwks).toBe(before);
    clock.advance(1);
    idp.jwksMode = 'error';
    await expect(verifier.verify(await idp.sign(rsa, claims(clock, { sub: 'c' })))).resolves.toMatchObject({ subject: 'c' });
    expect(idp.requests.jwks).toBe(before + 1);
    // A stale set whose refresh succeeds is replaced: a withdrawn key stops verifying.
    idp.jwksMode = 'ok';
    idp.publish([ec.kid]);
    clock.advance(5_000);
    expect(await reasonOf(verifier, await idp.sign(rsa, claims(clock, { sub: 'd' })))).toBe('unknown_key');
    expect(idp.requests.jwks).toBe(before + 2);
  });

  it('refuses malformed tokens before any work', async () => {
    const { verifier } = setup();
    const before = { ...idp.requests };
    expect(await reasonOf(verifier, 'sk-not-a-jwt')).toBe('malformed');
    expect(await reasonOf(verifier, `${'a'.repeat(9000)}.b.c`)).toBe('malformed');
    expect(await reasonOf(verifier, 'bm90IGpzb24.eyJzdWIiOiJ4In0.c2ln')).toBe('malformed');
    expect(idp.requests).toEqual(before);
  });

  describe('verified-token cache', () => {
    it('answers a repeated token without JSON parsing or signature checks, until its exp', async () => {
      const { verifier, clock } = setup();
      const exp = nowSeconds(clock) + 120;
      const token = await idp.sign(rsa, claims(clock, { exp }));
      expect(verifier.cached(token)).toBeUndefined();
      const verifySpy = vi.spyOn(globalThis.crypto.subtle, 'verify');
      const first = await verifier.verify(token);
      expect(verifySpy).toHaveBeenCalledTimes(1);

      const parseSpy = vi.spyOn(JSON, 'parse');
      expect(verifier.cached(token)).toBe(first);
      await expect(verifier.verify(token)).resolves.toBe(first);
      expect(verifySpy).toHaveBeenCalledTimes(1);
      expect(parseSpy).not.toHaveBeenCalled();

      // At exp the entry is gone (no leeway for cached entries), though the token still verifies.
      clock.advance(exp * 1000 - clock.wallMs() - 1);
      expect(verifier.cached(token)).toBe(first);
      clock.advance(1);
      expect(verifier.cached(token)).toBeUndefined();
      await expect(verifier.verify(token)).resolves.toEqual(first);
      expect(verifySpy).toHaveBeenCalledTimes(2);
      expect(verifier.cached(token)).toBeUndefined();
      // Past the leeway, refused.
      clock.advance(31_000);
      expect(await reasonOf(verifier, token)).toBe('expired');
    });

    it('shares one verification between concurrent requests with the same token', async () => {
      const { verifier, clock } = setup();
      const token = await idp.sign(ec, claims(clock));
      const verifySpy = vi.spyOn(globalThis.crypto.subtle, 'verify');
      const results = await Promise.all(Array.from({ length: 10 }, () => verifier.verify(token)));
      expect(new Set(results).size).toBe(1);
      expect(verifySpy).toHaveBeenCalledTimes(1);
    });

    it('holds at most cacheMaxEntries tokens, dropping the oldest', async () => {
      const { verifier, clock } = setup({ cacheMaxEntries: 2 });
      const tokens = await Promise.all(['a', 'b', 'c'].map((sub) => idp.sign(rsa, claims(clock, { sub }))));
      for (const token of tokens) await verifier.verify(token);
      expect(tokens.map((t) => verifier.cached(t)?.subject)).toEqual([undefined, 'b', 'c']);
    });

    it('does not cache refused tokens', async () => {
      const { verifier, clock } = setup();
      const token = withPayload(await idp.sign(rsa, claims(clock)), claims(clock, { roles: ['admin'] }));
      expect(await reasonOf(verifier, token)).toBe('signature');
      expect(verifier.cached(token)).toBeUndefined();
      expect(await reasonOf(verifier, token)).toBe('signature');
    });
  });
});
