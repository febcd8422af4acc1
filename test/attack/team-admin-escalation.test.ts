import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startAdminHarness } from '../helpers/admin.js';
import { chat, chatBody, type Harness } from '../helpers/harness.js';

/**
 * A team admin (here an API key with role team_admin on team `own`) trying to reach beyond its
 * team: keys, roles and models of other teams, global roles, other teams' members, and what the
 * lists and ids of the admin API let it learn about them.
 */
let h: Harness;
let teamAdmin: string;
let ownKeyId: string;
let otherKeyId: string;

beforeAll(async () => {
  h = await startAdminHarness(['cheap', 'costly']);
  expect((await admin(h.url, 'POST', '/teams', { name: 'own', models: ['cheap'] })).status).toBe(201);
  expect((await admin(h.url, 'POST', '/teams', { name: 'other' })).status).toBe(201);
  const ta = await admin(h.url, 'POST', '/keys', { team: 'own', role: 'team_admin', models: ['cheap'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  teamAdmin = ta.body.key;
  ownKeyId = (await admin(h.url, 'POST', '/keys', { team: 'own' })).body.id;
  otherKeyId = (await admin(h.url, 'POST', '/keys', { team: 'other', role: 'team_admin' })).body.id;
}, 60_000);
afterAll(() => h?.close());

describe('a team admin cannot escalate', () => {
  it('issues no key for another team, and none with models beyond its team (POST or PATCH)', async () => {
    for (const body of [{ team: 'other' }, { team: 'other', role: 'team_admin' }, { team: 'main' }]) {
      expect((await admin(h.url, 'POST', '/keys', body, teamAdmin)).status).toBe(403);
    }
    for (const models of [['costly'], ['*'], ['cheap', 'costly']]) {
      const created = await admin(h.url, 'POST', '/keys', { team: 'own', models }, teamAdmin);
      expect(created.status, created.text).toBe(400);
      const patched = await admin(h.url, 'PATCH', `/keys/${ownKeyId}`, { models }, teamAdmin);
      expect(patched.status, patched.text).toBe(400);
    }
    // A key cannot be moved to another team: `team` is not a field of the update.
    const moved = await admin(h.url, 'PATCH', `/keys/${ownKeyId}`, { team: 'other' }, teamAdmin);
    expect(moved.status).toBe(400);
    expect((await admin(h.url, 'GET', `/keys/${ownKeyId}`)).body.team).toBe('own');
    // A key of its own team made by it calls only the team's models.
    const own = await admin(h.url, 'POST', '/keys', { team: 'own', models: ['cheap'] }, teamAdmin);
    expect(own.status).toBe(201);
    expect((await chat(h.url, chatBody('costly'), { key: own.body.key })).status).toBe(403);
    expect((await chat(h.url, chatBody('cheap'), { key: own.body.key })).status).toBe(200);
  });

  it('changes neither its own team, nor any global role, nor another team’s members', async () => {
    const user = (await admin(h.url, 'POST', '/users', { subject: 'bystander' })).body;
    const attempts: Array<[Parameters<typeof admin>[1], string, unknown]> = [
      ['PATCH', '/teams/own', { models: ['cheap', 'costly'] }],
      ['PATCH', '/teams/own', { limits: null }],
      ['DELETE', '/teams/own', undefined],
      ['POST', '/teams', { name: 'mine-too' }],
      ['POST', '/users', { subject: 'me-admin', role: 'admin' }],
      ['PATCH', `/users/${user.id}`, { role: 'admin' }],
      ['DELETE', `/users/${user.id}`, undefined],
      ['PUT', `/teams/other/members/${user.id}`, { role: 'team_admin' }],
      ['GET', '/audit', undefined],
    ];
    for (const [method, path, body] of attempts) {
      const r = await admin(h.url, method, path, body, teamAdmin);
      expect(r.status, `${method} ${path} ${r.text}`).toBe(403);
    }
    expect((await admin(h.url, 'GET', `/users/${user.id}`)).body).toMatchObject({ role: null, teams: [] });
  });

  // Ids are random, so a 403 for another team's key gives nothing away a guess could not; it is
  // audited (access.denied), which a 404 would hide. The key itself is untouched.
  it('is refused (403) on another team’s keys, and changes nothing of them', async () => {
    const missing = await admin(h.url, 'GET', '/keys/key_ffffffffffffffff', undefined, teamAdmin);
    expect(missing.status).toBe(404);
    const calls: Array<[Parameters<typeof admin>[1], string, unknown]> = [
      ['GET', `/keys/${otherKeyId}`, undefined],
      ['PATCH', `/keys/${otherKeyId}`, { name: 'mine' }],
      ['PATCH', `/keys/${otherKeyId}`, { models: ['cheap'] }],
      ['POST', `/keys/${otherKeyId}/rotate`, {}],
      ['DELETE', `/keys/${otherKeyId}`, undefined],
      ['GET', '/keys/config:main:0', undefined],
      ['DELETE', '/keys/config:main:0', undefined],
    ];
    for (const [method, path, body] of calls) {
      const r = await admin(h.url, method, path, body, teamAdmin);
      expect(r.status, `${method} ${path} ${r.text}`).toBe(403);
      expect(r.body.error.code).toBe('permission_denied');
    }
    // Untouched, and the denials are recorded.
    expect((await admin(h.url, 'GET', `/keys/${otherKeyId}`)).body).toMatchObject({ name: null, revokedAt: null });
    // Someone who may read the team's keys but not change them still gets the honest 403.
    const viewer = await admin(h.url, 'POST', '/keys', { team: 'other', role: 'viewer' });
    expect((await admin(h.url, 'GET', `/keys/${otherKeyId}`, undefined, viewer.body.key)).status).toBe(200);
    expect((await admin(h.url, 'DELETE', `/keys/${otherKeyId}`, undefined, viewer.body.key)).status).toBe(403);
  });

  it('lists only its team’s people, page by page, and no cursor names anyone else', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await admin(h.url, 'POST', '/users', { subject: `person-${i}`, email: `p${i}@corp.example` })).body.id);
    const members = [ids[2] as string, ids[5] as string];
    for (const id of members) expect((await admin(h.url, 'PUT', `/teams/own/members/${id}`, { role: 'member' })).status).toBe(200);
    const seen: string[] = [];
    const cursors: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const r = await admin(h.url, 'GET', `/users?limit=1${after ? `&after=${after}` : ''}`, undefined, teamAdmin);
      expect(r.status).toBe(200);
      seen.push(...r.body.data.map((u: { id: string }) => u.id));
      after = r.body.nextCursor;
      if (after === null) break;
      cursors.push(after);
    }
    expect(seen.sort()).toEqual([...members].sort());
    for (const c of cursors) expect(members).toContain(c);
  });

  it('lists its team’s keys whole even when other teams’ keys sort first', async () => {
    // Add keys to `other` until at least two sort before the team's first key: a page filtered
    // after the query then came back empty, with no cursor, hiding the team's own keys. Ids are
    // random, so the team here gets a key that sorts in the upper part (lower ones are revoked,
    // and lists leave revoked keys out): other keys then sort before it often enough.
    expect((await admin(h.url, 'POST', '/teams', { name: 'paged' })).status).toBe(201);
    let lead: { id: string; key: string } | undefined;
    for (let i = 0; i < 40 && !lead; i++) {
      const k = (await admin(h.url, 'POST', '/keys', { team: 'paged', role: 'team_admin' })).body as { id: string; key: string };
      if (k.id >= 'key_4') lead = k;
      else await admin(h.url, 'DELETE', `/keys/${k.id}`);
    }
    if (!lead) throw new Error('no key id sorted in the upper part in 40 tries');
    const ownIds = () => admin(h.url, 'GET', '/keys?team=paged').then((r) => r.body.data.map((k: { id: string }) => k.id).sort() as string[]);
    const first = (await ownIds())[0] as string;
    let before = 0;
    for (let i = 0; i < 80 && before < 2; i++) {
      const id = (await admin(h.url, 'POST', '/keys', { team: 'other' })).body.id as string;
      if (id < first) before++;
    }
    expect(before).toBe(2);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const r = await admin(h.url, 'GET', `/keys?limit=1${after ? `&after=${after}` : ''}`, undefined, lead.key);
      seen.push(...r.body.data.map((k: { id: string }) => k.id));
      after = r.body.nextCursor;
      if (after === null) break;
    }
    expect(seen).toEqual(await ownIds());
  });
});
