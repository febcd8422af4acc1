import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeIdp, type FakeIdpKey } from '../../src/testing/fake-idp.js';
import { ADMIN_KEY, admin } from '../helpers/admin.js';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from '../helpers/harness.js';

/**
 * Credentials at the admin API's door: malformed Authorization headers, the bootstrap key nearly
 * right, a team admin's key after it expired, was rotated or was revoked, config keys shaped like
 * a JWT, and a flood of signed tokens naming made-up key ids.
 */
let h: Harness;
let idp: FakeIdp;
let signer: FakeIdpKey;
const JWT_SHAPED_CONFIG_KEY = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

beforeAll(async () => {
  idp = await FakeIdp.start();
  signer = await idp.addKey('ES256');
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
    config: (f) => ({
      deployments: { d: deploymentFor(f[0]!) },
      models: { m: { targets: [{ deployment: 'd', model: 'm' }] } },
      tenants: { shaped: { keys: [JWT_SHAPED_CONFIG_KEY], models: ['*'] } },
      admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      identity: { jwt: { issuer: idp.issuer, audience: 'gateway', jwksUrl: idp.jwksUrl, algorithms: ['ES256'], jwksCooldownMs: 60_000 } },
      state: { database: { dataDir: ':memory:' } },
    }),
  });
  expect((await admin(h.url, 'POST', '/teams', { name: 'ops' })).status).toBe(201);
}, 60_000);
afterAll(async () => {
  await h?.close();
  await idp?.close();
});

async function withAuthorization(headers: Record<string, string | string[]>): Promise<number> {
  const res = await request(`${h.url}/admin/v1/me`, { headers });
  await res.body.text();
  return res.statusCode;
}

describe('the admin API’s door', () => {
  it('takes only a well-formed bearer credential, and the bootstrap key only exactly', async () => {
    expect(await withAuthorization({ authorization: `Bearer ${ADMIN_KEY}` })).toBe(200);
    expect(await withAuthorization({ authorization: `bearer ${ADMIN_KEY}` })).toBe(200);
    // Trailing whitespace is not part of a header's value (HTTP strips it), so it is not refused.
    expect(await withAuthorization({ authorization: `Bearer ${ADMIN_KEY}  ` })).toBe(200);
    const refused = [
      `Bearer  ${ADMIN_KEY}`,
      `Bearer\t${ADMIN_KEY}`,
      `Basic ${Buffer.from(`x:${ADMIN_KEY}`).toString('base64')}`,
      ADMIN_KEY,
      `Bearer ${ADMIN_KEY.slice(0, -1)}`,
      `Bearer ${ADMIN_KEY}x`,
      `Bearer ${ADMIN_KEY.toUpperCase()}`,
      `Bearer ${'a'.repeat(8_193)}`,
    ];
    for (const authorization of refused) expect(await withAuthorization({ authorization }), authorization.slice(0, 30)).toBe(401);
    // The Anthropic header is not a way in to the admin API.
    expect(await withAuthorization({ 'x-api-key': ADMIN_KEY })).toBe(401);
    // Node keeps the first of two Authorization headers: a good second one is not looked at.
    expect(await withAuthorization({ authorization: ['Bearer nope', `Bearer ${ADMIN_KEY}`] })).toBe(401);
  });

  it('refuses a team admin key once expired (expiry moved into the past), on the admin API as on the data plane', async () => {
    const key = await admin(h.url, 'POST', '/keys', { team: 'ops', role: 'team_admin' });
    expect((await admin(h.url, 'GET', '/keys?team=ops', undefined, key.body.key)).status).toBe(200);
    expect((await admin(h.url, 'PATCH', `/keys/${key.body.id}`, { expiresAt: '2001-01-01T00:00:00Z' })).status).toBe(200);
    const r = await admin(h.url, 'POST', '/keys', { team: 'ops', role: 'team_admin' }, key.body.key);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('api_key_expired');
    expect((await chat(h.url, chatBody('m'), { key: key.body.key })).status).toBe(401);
  });

  it('keeps a rotated team admin key’s old secret only for its grace, and a revocation ends both at once', async () => {
    const key = await admin(h.url, 'POST', '/keys', { team: 'ops', role: 'team_admin' });
    const rotated = await admin(h.url, 'POST', `/keys/${key.body.id}/rotate`, { graceMs: 3_600_000 });
    for (const secret of [key.body.key, rotated.body.key]) expect((await admin(h.url, 'GET', '/me', undefined, secret)).status).toBe(200);
    // Rotating with no grace, twice: only the last secret is left.
    const now1 = await admin(h.url, 'POST', `/keys/${key.body.id}/rotate`, { graceMs: 0 });
    const now2 = await admin(h.url, 'POST', `/keys/${key.body.id}/rotate`, { graceMs: 0 }, now1.body.key);
    expect(now2.status).toBe(200);
    for (const old of [key.body.key, rotated.body.key, now1.body.key]) expect((await admin(h.url, 'GET', '/me', undefined, old)).status).toBe(401);
    const again = await admin(h.url, 'POST', `/keys/${key.body.id}/rotate`, { graceMs: 3_600_000 }, now2.body.key);
    expect((await admin(h.url, 'DELETE', `/keys/${key.body.id}`)).status).toBe(200);
    for (const secret of [now2.body.key, again.body.key]) {
      expect((await admin(h.url, 'GET', '/me', undefined, secret)).status).toBe(401);
      expect((await chat(h.url, chatBody('m'), { key: secret })).status).toBe(401);
    }
  });

  it('treats a config key shaped like a JWT as the key it is (a member: no admin rights)', async () => {
    expect((await chat(h.url, chatBody('m'), { key: JWT_SHAPED_CONFIG_KEY })).status).toBe(200);
    const me = await admin(h.url, 'GET', '/me', undefined, JWT_SHAPED_CONFIG_KEY);
    expect(me.body).toMatchObject({ actor: 'config:shaped', teams: [{ team: 'shaped', role: 'member' }] });
    expect((await admin(h.url, 'GET', '/keys?team=shaped', undefined, JWT_SHAPED_CONFIG_KEY)).status).toBe(403);
    expect(idp.requests.jwks).toBe(0);
  });

  it('fetches the key set at most twice for a flood of signed tokens naming made-up key ids', async () => {
    const before = idp.requests.jwks;
    const tokens = await Promise.all(
      Array.from({ length: 40 }, (_, i) => idp.sign(signer, { iss: idp.issuer, aud: 'gateway', sub: `u${i}`, roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 600 }, { kid: `made-up-${i}` })),
    );
    const statuses = await Promise.all(tokens.map((t) => admin(h.url, 'GET', '/teams', undefined, t).then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(idp.requests.jwks - before).toBeLessThanOrEqual(2);
    // The real key still works afterwards.
    const good = await idp.sign(signer, { iss: idp.issuer, aud: 'gateway', sub: 'real', roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 600 });
    expect((await admin(h.url, 'GET', '/teams', undefined, good)).status).toBe(200);
  });
});
