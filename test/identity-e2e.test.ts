import { createPublicKey } from 'node:crypto';
import { base64url, exportSPKI, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../src/clock.js';
import { JwtVerifier } from '../src/identity/jwt-verifier.js';
import { FakeIdp, type FakeIdpKey } from '../src/testing/fake-idp.js';
import { ADMIN_KEY, admin, auditUntil } from './helpers/admin.js';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from './helpers/harness.js';
import { AUDIENCE, identityConfig, signToken } from './helpers/identity.js';

/**
 * Company sign-in end to end (issue 11, identity): a gateway trusting a fake OpenID provider on
 * loopback (keys found through OIDC discovery), tokens on the data plane and on the admin API,
 * every refusal a 401 `invalid_token` naming its reason and never the token, the JWKS refetched
 * for a rotated key, verified tokens cached, and the admin API's refusals in the audit log.
 */

/** The gateway's clock runs `skewMs` ahead of the system clock, so a test can pass the JWKS refetch cooldown without waiting. */
let skewMs = 0;
const clock: Clock = { nowMs: () => performance.now() + skewMs, wallMs: () => Date.now() + skewMs };
const JWKS_COOLDOWN_MS = 1_000;

let h: Harness;
let idp: FakeIdp;
let rsa: FakeIdpKey;

beforeAll(async () => {
  idp = await FakeIdp.start();
  rsa = await idp.addKey('RS256');
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
    clock,
    config: (f) => ({
      deployments: { d: deploymentFor(f[0]!) },
      models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm' }] }, other: { targets: [{ deployment: 'd', model: 'm' }] } },
      admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      state: { database: { dataDir: ':memory:' } },
      // No jwksUrl: the keys are found through discovery, as with a real provider.
      identity: identityConfig(idp, { jwksUrl: undefined, jwksCooldownMs: JWKS_COOLDOWN_MS }),
    }),
  });
  for (const [name, models] of [['search', ['gpt-mini']], ['billing', ['other']]] as const) {
    const res = await admin(h.url, 'POST', '/teams', { name, models });
    if (res.status !== 201) throw new Error(res.text);
  }
}, 60_000);

afterAll(async () => {
  await h?.close();
  await idp?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const person = (claims: Record<string, unknown> = {}, key: FakeIdpKey = rsa, header: Record<string, unknown> = {}) => signToken(idp, key, { sub: 'ada', team: 'search', roles: ['member'], ...claims }, header);

/** Neither `text` nor anything derived from it holds the token or one of its segments. */
function expectNoToken(text: string, token: string): void {
  expect(text).not.toContain(token);
  for (const part of token.split('.')) if (part.length >= 8) expect(text).not.toContain(part);
}

/** HS256 keyed with the RSA public key (PEM): the classic algorithm-confusion forgery. */
async function hmacWithPublicKey(claims: Record<string, unknown>): Promise<string> {
  const pem = await exportSPKI(createPublicKey({ key: rsa.publicJwk as never, format: 'jwk' }) as never);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: idp.issuer, aud: AUDIENCE, sub: 'mallory', team: 'search', roles: ['admin'], iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
    .sign(new TextEncoder().encode(pem));
}

function unsigned(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: idp.issuer, aud: AUDIENCE, sub: 'mallory', team: 'search', roles: ['admin'], iat: now, exp: now + 600, ...claims };
  return `${base64url.encode(JSON.stringify({ alg: 'none', kid: rsa.kid }))}.${base64url.encode(JSON.stringify(payload))}.`;
}

/** `token` with its payload replaced (the signature kept): a tampered token. */
function tampered(token: string, change: Record<string, unknown>): string {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${header}.${base64url.encode(JSON.stringify({ ...claims, ...change }))}.${signature}`;
}

const refusals: ReadonlyArray<{ name: string; token: () => Promise<string>; reason: RegExp; audited: string }> = [
  { name: 'expired (beyond the 30 s leeway)', token: () => person({ exp: Math.floor(Date.now() / 1000) - 120 }), reason: /has expired/, audited: 'expired' },
  { name: 'for another audience', token: () => person({ aud: 'some-other-service' }), reason: /not intended for this service \(audience\)/, audited: 'audience' },
  { name: 'from another issuer', token: () => person({ iss: 'https://evil.example.com' }), reason: /not issued by the configured identity provider/, audited: 'issuer' },
  { name: 'tampered (team changed, signature kept)', token: async () => tampered(await person(), { team: 'billing', roles: ['admin'] }), reason: /signature is invalid/, audited: 'signature' },
  { name: 'alg confusion: HS256 keyed with the public key', token: () => hmacWithPublicKey({}), reason: /algorithm that is not accepted/, audited: 'algorithm' },
  { name: 'alg none', token: async () => unsigned({}), reason: /algorithm that is not accepted/, audited: 'algorithm' },
];

describe('JWT on the data plane', () => {
  it("a valid token calls a model of its team (200), and not another team's model (403)", async () => {
    const token = await person();
    expect((await chat(h.url, chatBody('gpt-mini'), { key: token })).status).toBe(200);
    const refused = await chat(h.url, chatBody('other'), { key: token });
    expect(refused.status).toBe(403);
    expect(refused.json().error).toMatchObject({ type: 'permission_error', code: 'model_not_allowed' });
    // A token of the team that has `other` calls it, and not gpt-mini.
    const billing = await person({ sub: 'bob', team: 'billing' });
    expect((await chat(h.url, chatBody('other'), { key: billing })).status).toBe(200);
    expect((await chat(h.url, chatBody('gpt-mini'), { key: billing })).status).toBe(403);
  });

  it.each(refusals)('a token $name → 401 invalid_token naming the reason, never the token', async ({ token, reason }) => {
    const t = await token();
    const res = await chat(h.url, chatBody('gpt-mini'), { key: t });
    expect(res.status).toBe(401);
    expect(res.json().error).toMatchObject({ type: 'authentication_error', code: 'invalid_token', param: null });
    expect(res.json().error.message).toMatch(reason);
    expectNoToken(res.text, t);
  });

  it('a token without a team claim → 403 permission_denied, saying it names no team', async () => {
    const t = await person({ team: undefined });
    const res = await chat(h.url, chatBody('gpt-mini'), { key: t });
    expect(res.status).toBe(403);
    expect(res.json().error).toMatchObject({ type: 'permission_error', code: 'permission_denied' });
    expect(res.json().error.message).toMatch(/names no team/);
  });

  it('a token whose role in its team is viewer reads but does not call models (403)', async () => {
    const res = await chat(h.url, chatBody('gpt-mini'), { key: await person({ roles: ['viewer'] }) });
    expect(res.status).toBe(403);
    expect(res.json().error.code).toBe('permission_denied');
  });

  it('an unknown kid is refused; once the provider rotates to that key, its tokens work after one JWKS refetch', async () => {
    // The gateway holds the provider's current keys (a token verified before this test or now).
    expect((await chat(h.url, chatBody('gpt-mini'), { key: await person({ sub: 'before-rotation' }) })).status).toBe(200);
    const oldToken = await person({ sub: 'old-key-user' });
    expect((await chat(h.url, chatBody('gpt-mini'), { key: oldToken })).status).toBe(200);

    const next = await idp.addKey('ES256', { publish: false });
    const early = await person({ sub: 'new-key-user' }, next);
    const refused = await chat(h.url, chatBody('gpt-mini'), { key: early });
    expect(refused.status).toBe(401);
    expect(refused.json().error).toMatchObject({ code: 'invalid_token' });
    expect(refused.json().error.message).toMatch(/key the identity provider does not publish/);

    // The provider rotates: only the new key is published. Past the refetch cooldown, a token
    // signed with it makes the gateway fetch the set once more, and is accepted.
    idp.publish([next.kid]);
    skewMs += JWKS_COOLDOWN_MS + 100;
    const jwksBefore = idp.requests.jwks;
    const rotated = await person({ sub: 'new-key-user' }, next);
    expect((await chat(h.url, chatBody('gpt-mini'), { key: rotated })).status).toBe(200);
    expect(idp.requests.jwks).toBe(jwksBefore + 1);

    // A fresh token signed with the withdrawn key is refused now...
    const withdrawn = await person({ sub: 'old-key-user', email: 'new@example.com' });
    expect((await chat(h.url, chatBody('gpt-mini'), { key: withdrawn })).status).toBe(401);
    // ...while a token verified before the rotation is served from the cache until its exp:
    // it is not verified again (if it were, its key would not be found).
    expect((await chat(h.url, chatBody('gpt-mini'), { key: oldToken })).status).toBe(200);

    // The provider publishes the first key again; past the cooldown the gateway has it back.
    idp.publish([rsa.kid, next.kid]);
    skewMs += JWKS_COOLDOWN_MS + 100;
    expect((await chat(h.url, chatBody('gpt-mini'), { key: await person({ sub: 'after-rotation' }) })).status).toBe(200);
  });

  it('verifies a token once: the second request with it is served from the cache', async () => {
    const verify = vi.spyOn(JwtVerifier.prototype, 'verify');
    const jwksBefore = { ...idp.requests };
    const token = await person({ sub: 'cached-user' });
    expect((await chat(h.url, chatBody('gpt-mini'), { key: token })).status).toBe(200);
    expect(verify).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 3; i++) expect((await chat(h.url, chatBody('gpt-mini'), { key: token })).status).toBe(200);
    // The admin API shares the cache.
    expect((await admin(h.url, 'GET', '/me', undefined, token)).status).toBe(200);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(idp.requests).toEqual(jwksBefore);
    // A refused token is not cached: each attempt is verified (and refused) again.
    const bad = tampered(token, { sub: 'someone-else' });
    for (let i = 0; i < 2; i++) expect((await chat(h.url, chatBody('gpt-mini'), { key: bad })).status).toBe(401);
    expect(verify).toHaveBeenCalledTimes(3);
  });

  // The admin API audits refused sign-ins; the data plane's refusals are not audited yet: the
  // pipeline (src/pipeline/handle-request.ts) would have to hand the source address and request id
  // to the authenticator. Left to the lead (see the report).
  it.todo('a refused sign-in on the data plane appears in the audit log');
});

describe('JWT on the admin API', () => {
  it('a token with the admin role manages teams', async () => {
    const token = await person({ sub: 'platform-lead', team: undefined, roles: ['admin'] });
    const made = await admin(h.url, 'POST', '/teams', { name: 'made-by-jwt', models: ['gpt-mini'] }, token);
    expect(made.status, made.text).toBe(201);
    expect((await admin(h.url, 'PATCH', '/teams/made-by-jwt', { models: ['gpt-mini', 'other'] }, token)).status).toBe(200);
    expect((await admin(h.url, 'DELETE', '/teams/made-by-jwt', undefined, token)).status).toBe(200);
    const entries = await auditUntil(h.url, { targetId: 'made-by-jwt' }, (e) => e.length === 3);
    expect(entries.map((e) => [e.action, e.actor, e.actorType])).toEqual([
      ['team.deleted', 'platform-lead', 'user'],
      ['team.updated', 'platform-lead', 'user'],
      ['team.created', 'platform-lead', 'user'],
    ]);
  });

  it("a token whose team role is team_admin manages that team's keys only", async () => {
    const token = await person({ sub: 'search-lead', roles: ['team_admin'] });
    const key = await admin(h.url, 'POST', '/keys', { team: 'search', name: 'by-search-lead' }, token);
    expect(key.status, key.text).toBe(201);
    expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(200);
    expect((await admin(h.url, 'POST', `/keys/${key.body.id}/rotate`, { graceMs: 0 }, token)).status).toBe(200);
    expect((await admin(h.url, 'DELETE', `/keys/${key.body.id}`, undefined, token)).status).toBe(200);
    const billingKey = await admin(h.url, 'POST', '/keys', { team: 'billing' });
    for (const [method, path, body] of [
      ['POST', '/keys', { team: 'billing' }],
      ['GET', `/keys/${billingKey.body.id}`, undefined],
      ['POST', `/keys/${billingKey.body.id}/rotate`, {}],
      ['DELETE', `/keys/${billingKey.body.id}`, undefined],
      ['PATCH', '/teams/search', { models: ['gpt-mini', 'other'] }],
      ['POST', '/teams', { name: 'not-mine' }],
    ] as const) {
      const res = await admin(h.url, method, path, body, token);
      expect({ method, path, status: res.status, error: res.body?.error }).toEqual({ method, path, status: 403, error: { message: expect.any(String), type: 'permission_error', param: null, code: 'permission_denied' } });
    }
    const list = await admin(h.url, 'GET', '/keys', undefined, token);
    expect(list.status).toBe(200);
    expect(list.body.data.every((k: { team: string }) => k.team === 'search')).toBe(true);
  });

  it('every refused sign-in is audited (auth.refused) with source address and request id, never the token', async () => {
    const tokens = await Promise.all(refusals.map((r) => r.token()));
    const requestIds: string[] = [];
    for (const t of tokens) {
      const res = await admin(h.url, 'GET', '/teams', undefined, t);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_token');
      expectNoToken(res.text, t);
      requestIds.push(res.headers['x-gateway-request-id'] as string);
    }
    const entries = await auditUntil(h.url, { action: 'auth.refused' }, (e) => requestIds.every((id) => e.some((x) => x.requestId === id)));
    for (const [i, id] of requestIds.entries()) {
      const entry = entries.find((e) => e.requestId === id);
      // The reason is the verifier's (a fixed word), so an operator tells a misconfigured client from a forgery.
      expect(entry).toMatchObject({ action: 'auth.refused', actorType: 'anonymous', source: expect.stringMatching(/127\.0\.0\.1$/), after: { code: 'invalid_token', reason: refusals[i]?.audited, route: 'GET /admin/v1/teams' } });
    }
    const log = (await admin(h.url, 'GET', '/audit/export')).text;
    for (const t of tokens) expectNoToken(log, t);
  });

  it('every denied admin call is audited (access.denied) with actor, source address and request id, never the token', async () => {
    const token = await person({ sub: 'nosy-member', roles: ['member'] });
    const calls = [
      ['GET', '/teams'],
      ['GET', '/audit'],
      ['DELETE', '/teams/billing'],
    ] as const;
    const requestIds: string[] = [];
    for (const [method, path] of calls) {
      const res = await admin(h.url, method, path, undefined, token);
      expect(res.status).toBe(403);
      requestIds.push(res.headers['x-gateway-request-id'] as string);
    }
    const entries = await auditUntil(h.url, { action: 'access.denied', actor: 'nosy-member' }, (e) => requestIds.every((id) => e.some((x) => x.requestId === id)));
    for (const [i, [method, path]] of calls.entries()) {
      const entry = entries.find((e) => e.requestId === requestIds[i]);
      expect(entry).toMatchObject({ actor: 'nosy-member', actorType: 'user', source: expect.stringMatching(/127\.0\.0\.1$/), after: { route: `${method} /admin/v1${path.replace('billing', '{team}')}` } });
    }
    expectNoToken(JSON.stringify(entries), token);
    // Still billing is there: nothing was done.
    expect((await admin(h.url, 'GET', '/teams/billing')).status).toBe(200);
  });
});
