import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, admin } from './helpers/admin.js';
import { chat, chatBody, deploymentFor, get, KEY, startHarness, type Harness } from './helpers/harness.js';

/**
 * The admin API end to end on the embedded store: teams and keys made at runtime, used on the
 * data plane at once, rotated, revoked, expired; config teams and keys read-only; bad input
 * named by path; nothing half-written.
 */
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
    config: (f) => ({
      deployments: { d: deploymentFor(f[0]!) },
      models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm' }] }, other: { targets: [{ deployment: 'd', model: 'm' }] } },
      admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      state: { database: { dataDir: ':memory:' } },
    }),
  });
}, 60_000);
afterAll(() => h?.close());

describe('admin API: teams and keys at runtime', () => {
  it('creates a team and a key, and the key calls an allowed model at once', async () => {
    const team = await admin(h.url, 'POST', '/teams', { name: 'search', models: ['gpt-mini'] });
    expect(team.status, team.text).toBe(201);
    expect(team.body).toMatchObject({ name: 'search', source: 'api', models: ['gpt-mini'] });
    const key = await admin(h.url, 'POST', '/keys', { team: 'search', name: 'ci' });
    expect(key.status, key.text).toBe(201);
    expect(key.body.key).toMatch(/^sk-gw-[A-Za-z0-9_-]{43}$/);
    expect(key.body.prefix).toBe(key.body.key.slice(0, 12));
    expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(200);
    const refused = await chat(h.url, chatBody('other'), { key: key.body.key });
    expect(refused.status).toBe(403);
    // Never the secret again: not in get, not in list.
    const got = await admin(h.url, 'GET', `/keys/${key.body.id}`);
    expect(got.text).not.toContain(key.body.key);
    expect(got.body).toMatchObject({ id: key.body.id, team: 'search', source: 'api', prefix: key.body.prefix });
    const list = await admin(h.url, 'GET', '/keys?team=search');
    expect(list.text).not.toContain(key.body.key);
    expect(list.body.data.map((k: { id: string }) => k.id)).toContain(key.body.id);
  });

  it('revokes a key: refused at once on this replica', async () => {
    await admin(h.url, 'POST', '/teams', { name: 'revoke-me' });
    const key = await admin(h.url, 'POST', '/keys', { team: 'revoke-me' });
    expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(200);
    const revoked = await admin(h.url, 'DELETE', `/keys/${key.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toBeTruthy();
    const after = await chat(h.url, chatBody('gpt-mini'), { key: key.body.key });
    expect(after.status).toBe(401);
    expect(after.json().error.code).toBe('invalid_api_key');
  });

  it('rotates a key: the new secret works, the old one until its grace ends', async () => {
    await admin(h.url, 'POST', '/teams', { name: 'rotate' });
    const key = await admin(h.url, 'POST', '/keys', { team: 'rotate' });
    const withGrace = await admin(h.url, 'POST', `/keys/${key.body.id}/rotate`, {});
    expect(withGrace.status, withGrace.text).toBe(200);
    expect(withGrace.body.key).not.toBe(key.body.key);
    expect((await chat(h.url, chatBody('gpt-mini'), { key: withGrace.body.key })).status).toBe(200);
    expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(200);
    const now = await admin(h.url, 'POST', `/keys/${key.body.id}/rotate`, { graceMs: 0 });
    expect((await chat(h.url, chatBody('gpt-mini'), { key: now.body.key })).status).toBe(200);
    for (const old of [key.body.key, withGrace.body.key]) expect((await chat(h.url, chatBody('gpt-mini'), { key: old })).status).toBe(401);
  });

  it('refuses an expired key with 401 api_key_expired', async () => {
    await admin(h.url, 'POST', '/teams', { name: 'expiring' });
    const key = await admin(h.url, 'POST', '/keys', { team: 'expiring', expiresAt: new Date(Date.now() + 1_500).toISOString() });
    expect(key.status, key.text).toBe(201);
    expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_600));
    const expired = await chat(h.url, chatBody('gpt-mini'), { key: key.body.key });
    expect(expired.status).toBe(401);
    expect(expired.json().error).toMatchObject({ code: 'api_key_expired', type: 'authentication_error' });
    expect(expired.json().error.message).toMatch(/expired/);
  });

  it('shows config teams and keys as read-only (source: config)', async () => {
    const teams = await admin(h.url, 'GET', '/teams');
    expect(teams.body.data).toContainEqual(expect.objectContaining({ name: 'main', source: 'config' }));
    const keys = await admin(h.url, 'GET', '/keys?team=main');
    expect(keys.body.data).toEqual([expect.objectContaining({ id: 'config:main:0', source: 'config', prefix: null })]);
    expect(keys.text).not.toContain(KEY);
    expect((await admin(h.url, 'PATCH', '/teams/main', { models: ['other'] })).body.error.code).toBe('resource_conflict');
    expect((await admin(h.url, 'DELETE', '/keys/config:main:0')).status).toBe(409);
    expect((await admin(h.url, 'POST', '/teams', { name: 'main' })).status).toBe(409);
    // An API key for a config team works like any other.
    const key = await admin(h.url, 'POST', '/keys', { team: 'main', models: ['other'] });
    expect(key.status, key.text).toBe(201);
    expect((await chat(h.url, chatBody('other'), { key: key.body.key })).status).toBe(200);
    expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(403);
  });

  it('names every invalid field by path and writes nothing', async () => {
    const before = await admin(h.url, 'GET', '/teams');
    const bad = await admin(h.url, 'POST', '/teams', { name: 'bad name!', models: [], limits: { requests: { capacity: -1, refillPerSecond: 1 } }, colour: 'red' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.type).toBe('invalid_request_error');
    for (const path of ['name', 'models', 'limits.requests.capacity', 'colour']) expect(bad.body.error.message).toContain(path);
    expect(bad.body.error.param).toBe('name');
    const unknownModel = await admin(h.url, 'POST', '/teams', { name: 'typo', models: ['gpt-mini', 'gpt-mnii'] });
    expect(unknownModel.status).toBe(400);
    expect(unknownModel.body.error.param).toBe('models[1]');
    const notSubset = await admin(h.url, 'POST', '/keys', { team: 'search', models: ['other'] });
    expect(notSubset.status).toBe(400);
    expect(notSubset.body.error.param).toBe('models[0]');
    expect((await admin(h.url, 'POST', '/keys', { team: 'nobody' })).body.error.param).toBe('team');
    expect((await admin(h.url, 'GET', '/teams')).body.data).toEqual(before.body.data);
  });

  it('answers 401 without a credential and 404 for an unknown key', async () => {
    expect((await admin(h.url, 'GET', '/teams', undefined, null)).status).toBe(401);
    expect((await admin(h.url, 'GET', '/teams', undefined, 'not-the-admin-key')).status).toBe(401);
    expect((await admin(h.url, 'GET', '/keys/key_0000000000000000')).status).toBe(404);
  });

  it('records each change in the audit log, and the chain verifies', async () => {
    const entries = await admin(h.url, 'GET', '/audit?targetType=team&targetId=search');
    expect(entries.body.data.map((e: { action: string }) => e.action)).toContain('team.created');
    const created = entries.body.data.find((e: { action: string }) => e.action === 'team.created');
    expect(created).toMatchObject({ actor: 'bootstrap', actorType: 'bootstrap', targetType: 'team', targetId: 'search' });
    expect(created.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const verify = await admin(h.url, 'GET', '/audit/verify');
    expect(verify.body).toMatchObject({ ok: true });
    expect(verify.body.entries).toBeGreaterThan(5);
    const everything = await admin(h.url, 'GET', '/audit?limit=1000');
    // No secret anywhere in the log.
    expect(everything.text).not.toMatch(/sk-gw-[A-Za-z0-9_-]{20}/);
    expect(everything.text).not.toContain(ADMIN_KEY);
  });

  it('serves its OpenAPI document', async () => {
    const doc = await get(h.url, '/admin/v1/openapi.json', null);
    expect(doc.status).toBe(200);
    expect(doc.json().openapi).toBe('3.1.0');
  });
});
