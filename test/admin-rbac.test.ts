import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../src/admin/access.js';
import { adminRouteTable } from '../src/admin/admin-api.js';
import { FakeIdp } from '../src/testing/fake-idp.js';
import { admin, openStream, type AdminResult } from './helpers/admin.js';
import { ADMIN_KEY } from './helpers/admin.js';
import { chat, chatBody, deploymentFor, KEY, startHarness, type Harness } from './helpers/harness.js';
import { insertDeadLetter } from './helpers/batch-runs.js';
import { identityConfig, signToken } from './helpers/identity.js';

/**
 * Every role against every admin route (issue 11, RBAC), end to end on the embedded store. The
 * roles come from each place a role can come from: the bootstrap credential; a global `admin` or
 * `viewer` from a JWT's roles claim or from the person's record in the store; a team role
 * (`team_admin`, `member`, `viewer`) from an API key, from a JWT's team and roles claims, or from
 * a membership in the store; and a key from the config file (a member of its tenant).
 *
 * What each role may do is written out below (`grants`), from the issue: a team admin manages
 * only their team's keys and members, a viewer reads, a member only calls models. The routes are
 * taken from `adminRouteTable`, so a new route without a sample request here fails the test.
 */

type RoleKind = 'admin' | 'viewer' | 'team_admin' | 'team_viewer' | 'member';
/** `all`: on every team (and the gateway-wide actions); `own`: on the caller's team only; `-`: never. */
type Grant = 'all' | 'own' | '-';

const grants: Readonly<Record<Action, Readonly<Record<RoleKind, Grant>>>> = {
  'team.read': { admin: 'all', viewer: 'all', team_admin: 'own', team_viewer: 'own', member: '-' },
  'team.create': { admin: 'all', viewer: '-', team_admin: '-', team_viewer: '-', member: '-' },
  'team.update': { admin: 'all', viewer: '-', team_admin: '-', team_viewer: '-', member: '-' },
  'team.delete': { admin: 'all', viewer: '-', team_admin: '-', team_viewer: '-', member: '-' },
  'key.read': { admin: 'all', viewer: 'all', team_admin: 'own', team_viewer: 'own', member: '-' },
  'key.write': { admin: 'all', viewer: '-', team_admin: 'own', team_viewer: '-', member: '-' },
  'user.read': { admin: 'all', viewer: 'all', team_admin: 'own', team_viewer: 'own', member: '-' },
  'user.write': { admin: 'all', viewer: '-', team_admin: '-', team_viewer: '-', member: '-' },
  'member.write': { admin: 'all', viewer: '-', team_admin: 'own', team_viewer: '-', member: '-' },
  'audit.read': { admin: 'all', viewer: 'all', team_admin: '-', team_viewer: '-', member: '-' },
  'spend.read': { admin: 'all', viewer: 'all', team_admin: 'own', team_viewer: 'own', member: '-' },
  'batch.read': { admin: 'all', viewer: 'all', team_admin: 'own', team_viewer: 'own', member: '-' },
  'batch.write': { admin: 'all', viewer: '-', team_admin: 'own', team_viewer: '-', member: '-' },
  'metrics.read': { admin: 'all', viewer: 'all', team_admin: '-', team_viewer: '-', member: '-' },
  'model.call': { admin: 'all', viewer: '-', team_admin: 'own', team_viewer: '-', member: 'own' },
};

interface Who {
  readonly name: string;
  readonly kind: RoleKind;
  /** The team a team role holds on (and the "other" team it must not reach). */
  readonly team?: { readonly own: string; readonly other: string };
  credential: string;
}

/**
 * How a route is exercised: `team` routes act on one team (the caller's own and another, or a
 * fresh one for global roles); `list` routes answer what the caller may see (403 only for
 * someone who may see nothing); `global` routes act on no team; `self` is the caller's own record.
 */
type Scope = 'team' | 'list' | 'global' | 'self';

interface Recipe {
  readonly scope: Scope;
  /** A request for this route, on `team`; anything it acts on is made fresh, by the bootstrap credential. */
  prepare(team: string): Promise<{ path: string; body?: unknown }>;
}

let h: Harness;
let idp: FakeIdp;
let n = 0;
const unique = (prefix: string): string => `${prefix}-${++n}`;

async function ok(res: Promise<AdminResult>): Promise<AdminResult> {
  const r = await res;
  if (r.status >= 300) throw new Error(`setup call failed: ${r.status} ${r.text}`);
  return r;
}

const fresh = {
  team: async (): Promise<string> => (await ok(admin(h.url, 'POST', '/teams', { name: unique('scratch'), models: ['gpt-mini'] }))).body.name,
  key: async (team: string, role = 'member'): Promise<{ id: string; key: string }> => (await ok(admin(h.url, 'POST', '/keys', { team, role }))).body,
  user: async (team?: string, role = 'member'): Promise<string> => {
    const id = (await ok(admin(h.url, 'POST', '/users', { subject: unique('person') }))).body.id as string;
    if (team !== undefined) await ok(admin(h.url, 'PUT', `/teams/${team}/members/${id}`, { role }));
    return id;
  },
};

const recipes: Readonly<Record<string, Recipe>> = {
  'GET /teams': { scope: 'list', prepare: async () => ({ path: '/teams' }) },
  'POST /teams': { scope: 'global', prepare: async () => ({ path: '/teams', body: { name: unique('made'), models: ['gpt-mini'] } }) },
  'GET /teams/{team}': { scope: 'team', prepare: async (team) => ({ path: `/teams/${team}` }) },
  'PATCH /teams/{team}': { scope: 'team', prepare: async (team) => ({ path: `/teams/${team}`, body: { models: ['gpt-mini', 'other'], limits: { requests: { capacity: 1000, refillPerSecond: 1000 } } } }) },
  'DELETE /teams/{team}': { scope: 'team', prepare: async (team) => ({ path: `/teams/${team}` }) },
  'GET /keys': { scope: 'list', prepare: async () => ({ path: '/keys' }) },
  'POST /keys': { scope: 'team', prepare: async (team) => ({ path: '/keys', body: { team, name: 'made-by-test' } }) },
  'GET /keys/{id}': { scope: 'team', prepare: async (team) => ({ path: `/keys/${(await fresh.key(team)).id}` }) },
  'PATCH /keys/{id}': { scope: 'team', prepare: async (team) => ({ path: `/keys/${(await fresh.key(team)).id}`, body: { name: 'renamed' } }) },
  'DELETE /keys/{id}': { scope: 'team', prepare: async (team) => ({ path: `/keys/${(await fresh.key(team)).id}` }) },
  'POST /keys/{id}/rotate': { scope: 'team', prepare: async (team) => ({ path: `/keys/${(await fresh.key(team)).id}/rotate`, body: { graceMs: 0 } }) },
  'GET /users': { scope: 'list', prepare: async () => ({ path: '/users' }) },
  'POST /users': { scope: 'global', prepare: async () => ({ path: '/users', body: { subject: unique('new-person') } }) },
  'GET /users/{id}': { scope: 'team', prepare: async (team) => ({ path: `/users/${await fresh.user(team)}` }) },
  'PATCH /users/{id}': { scope: 'global', prepare: async () => ({ path: `/users/${await fresh.user()}`, body: { role: 'admin' } }) },
  'DELETE /users/{id}': { scope: 'global', prepare: async () => ({ path: `/users/${await fresh.user()}` }) },
  'GET /teams/{team}/members': { scope: 'team', prepare: async (team) => ({ path: `/teams/${team}/members` }) },
  'PUT /teams/{team}/members/{id}': { scope: 'team', prepare: async (team) => ({ path: `/teams/${team}/members/${await fresh.user()}`, body: { role: 'team_admin' } }) },
  'DELETE /teams/{team}/members/{id}': { scope: 'team', prepare: async (team) => ({ path: `/teams/${team}/members/${await fresh.user(team)}` }) },
  'GET /audit': { scope: 'global', prepare: async () => ({ path: '/audit' }) },
  'GET /audit/verify': { scope: 'global', prepare: async () => ({ path: '/audit/verify' }) },
  'GET /audit/export': { scope: 'global', prepare: async () => ({ path: '/audit/export' }) },
  'GET /me': { scope: 'self', prepare: async () => ({ path: '/me' }) },
  'GET /spend': { scope: 'team', prepare: async (team) => ({ path: `/spend?team=${team}&group_by=key,day` }) },
  'GET /requests': { scope: 'team', prepare: async (team) => ({ path: `/requests?team=${team}&limit=5` }) },
  'GET /requests/{id}': { scope: 'team', prepare: async (team) => ({ path: `/requests/${await requestOf(team)}` }) },
  'GET /dead-letters': { scope: 'team', prepare: async (team) => ({ path: `/dead-letters?team=${team}` }) },
  'GET /dead-letters/{batch}/{line}': { scope: 'team', prepare: async (team) => ({ path: `/dead-letters/${await deadLetterOf(team)}` }) },
  'POST /dead-letters/{batch}/{line}/replay': { scope: 'team', prepare: async (team) => ({ path: `/dead-letters/${await deadLetterOf(team)}/replay` }) },
  'DELETE /dead-letters/{batch}/{line}': { scope: 'team', prepare: async (team) => ({ path: `/dead-letters/${await deadLetterOf(team)}` }) },
  'GET /live': { scope: 'global', prepare: async () => ({ path: '/live' }) },
  'GET /deployments': { scope: 'global', prepare: async () => ({ path: '/deployments' }) },
};

/** A fresh dead letter of `team` (`<batch>/<line>`), made in the gateway's database. */
async function deadLetterOf(team: string): Promise<string> {
  const db = h.gateway.controlDb;
  if (!db) throw new Error('the control plane is not open');
  const { batchId, line } = await insertDeadLetter(db, team);
  return `${batchId}/${line}`;
}

/** One request made by a key of `team` (cached per team), once its row is in the request log. */
const requests = new Map<string, string>();
async function requestOf(team: string): Promise<string> {
  const known = requests.get(team);
  if (known !== undefined) return known;
  const res = await chat(h.url, chatBody('gpt-mini'), { key: (await fresh.key(team)).key });
  const id = res.headers['x-gateway-request-id'] as string;
  const until = Date.now() + 10_000;
  while ((await admin(h.url, 'GET', `/requests/${id}`)).status !== 200) {
    if (Date.now() > until) throw new Error(`request ${id} never reached the request log`);
    await new Promise((r) => setTimeout(r, 50));
  }
  requests.set(team, id);
  return id;
}

const alpha = { own: 'alpha', other: 'beta' };
const principals: Who[] = [
  { name: 'bootstrap credential', kind: 'admin', credential: ADMIN_KEY },
  { name: 'JWT roles [admin]', kind: 'admin', credential: '' },
  { name: 'JWT roles [viewer]', kind: 'viewer', credential: '' },
  { name: 'store user role admin', kind: 'admin', credential: '' },
  { name: 'store user role viewer', kind: 'viewer', credential: '' },
  { name: 'API key team_admin', kind: 'team_admin', team: alpha, credential: '' },
  { name: 'API key member', kind: 'member', team: alpha, credential: '' },
  { name: 'API key viewer', kind: 'team_viewer', team: alpha, credential: '' },
  { name: 'JWT team+roles team_admin', kind: 'team_admin', team: alpha, credential: '' },
  { name: 'JWT team+roles member', kind: 'member', team: alpha, credential: '' },
  { name: 'JWT team+roles viewer', kind: 'team_viewer', team: alpha, credential: '' },
  { name: 'store membership team_admin', kind: 'team_admin', team: alpha, credential: '' },
  { name: 'store membership member', kind: 'member', team: alpha, credential: '' },
  { name: 'store membership viewer', kind: 'team_viewer', team: alpha, credential: '' },
  { name: 'config-file key', kind: 'member', team: { own: 'main', other: 'alpha' }, credential: KEY },
];
const who = (name: string): Who => principals.find((p) => p.name === name) as Who;

beforeAll(async () => {
  idp = await FakeIdp.start();
  const signer = await idp.addKey('ES256');
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
    config: (f) => ({
      deployments: { d: deploymentFor(f[0]!) },
      models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm' }] }, other: { targets: [{ deployment: 'd', model: 'm' }] } },
      admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      state: { database: { dataDir: ':memory:' } },
      requestLog: { flushMs: 100 },
      identity: identityConfig(idp),
    }),
  });
  for (const team of ['alpha', 'beta']) await ok(admin(h.url, 'POST', '/teams', { name: team, models: ['gpt-mini'] }));
  const token = (claims: Record<string, unknown>) => signToken(idp, signer, claims);
  who('JWT roles [admin]').credential = await token({ sub: 'jwt-admin', roles: ['admin'] });
  who('JWT roles [viewer]').credential = await token({ sub: 'jwt-viewer', roles: ['viewer'] });
  // People whose roles are in the store: their tokens name no team and no role.
  await ok(admin(h.url, 'POST', '/users', { subject: 'store-admin', role: 'admin' }));
  await ok(admin(h.url, 'POST', '/users', { subject: 'store-viewer', role: 'viewer' }));
  who('store user role admin').credential = await token({ sub: 'store-admin' });
  who('store user role viewer').credential = await token({ sub: 'store-viewer' });
  for (const [role, label] of [['team_admin', 'team_admin'], ['member', 'member'], ['viewer', 'viewer']] as const) {
    who(`API key ${label}`).credential = (await fresh.key('alpha', role)).key;
    who(`JWT team+roles ${label}`).credential = await token({ sub: `jwt-${role}`, team: 'alpha', roles: [role] });
    const id = (await ok(admin(h.url, 'POST', '/users', { subject: `alpha-${role}` }))).body.id as string;
    await ok(admin(h.url, 'PUT', `/teams/alpha/members/${id}`, { role }));
    who(`store membership ${label}`).credential = await token({ sub: `alpha-${role}` });
  }
}, 60_000);

afterAll(async () => {
  await h?.close();
  await idp?.close();
});

async function streamStatus(path: string, credential: string): Promise<AdminResult> {
  const s = await openStream(h.url, path, credential);
  s.close();
  return { status: s.status, headers: {}, body: s.body, text: JSON.stringify(s.body ?? null) };
}

function expectPermissionDenied(res: AdminResult): void {
  expect(res.status).toBe(403);
  expect(res.body).toEqual({ error: { message: expect.any(String), type: 'permission_error', param: null, code: 'permission_denied' } });
}

describe('RBAC: every role against every admin route', () => {
  it('has a sample request for every route of the admin route table, and none for a route that is gone', () => {
    const routes = adminRouteTable.map((r) => `${r.method} ${r.path}`);
    expect(routes.filter((r) => !(r in recipes))).toEqual([]);
    expect(Object.keys(recipes).filter((r) => !routes.includes(r))).toEqual([]);
  });

  it.each(principals.map((p) => [p.name, p] as const))('%s', async (_name, p) => {
    const mismatches: unknown[] = [];
    let calls = 0;
    for (const route of adminRouteTable) {
      const key = `${route.method} ${route.path}`;
      const recipe = recipes[key];
      if (!recipe) throw new Error(`no sample request for ${key}`);
      const grant = route.action === 'any' ? 'all' : grants[route.action][p.kind];
      // (target team or undefined, whether the call must be allowed)
      const cases: Array<{ team: string | undefined; target: string; allowed: boolean }> = [];
      if (recipe.scope === 'self') cases.push({ team: undefined, target: '-', allowed: true });
      else if (recipe.scope === 'list') cases.push({ team: undefined, target: 'list', allowed: grant !== '-' });
      else if (recipe.scope === 'global') cases.push({ team: undefined, target: 'gateway', allowed: grant === 'all' });
      else if (p.team === undefined) cases.push({ team: await fresh.team(), target: 'a team', allowed: grant === 'all' });
      else {
        cases.push({ team: p.team.own, target: 'own team', allowed: grant !== '-' });
        cases.push({ team: p.team.other, target: 'other team', allowed: grant === 'all' });
      }
      for (const c of cases) {
        const { path, body } = await recipe.prepare(c.team ?? '');
        // A stream never ends by itself: its status is what it answered when it opened.
        const res = route.response === 'event-stream' ? await streamStatus(path, p.credential) : await admin(h.url, route.method as 'GET', path, body, p.credential);
        calls++;
        const allowed = res.status >= 200 && res.status < 300;
        const denied = res.status === 403 && res.body?.error?.code === 'permission_denied' && res.body?.error?.type === 'permission_error' && res.body?.error?.param === null;
        if (c.allowed ? !allowed : !denied) mismatches.push({ route: key, target: c.target, expected: c.allowed ? 'allowed (2xx)' : '403 permission_denied', status: res.status, body: res.text.slice(0, 300) });
      }
    }
    expect(calls).toBeGreaterThanOrEqual(adminRouteTable.length);
    expect(mismatches).toEqual([]);
  }, 60_000);
});

describe('RBAC: team scoping', () => {
  const ta = () => who('API key team_admin').credential;

  it('a team admin of alpha cannot read, issue, rotate or revoke keys of beta, and nothing of beta changes', async () => {
    const betaKey = await fresh.key('beta');
    expectPermissionDenied(await admin(h.url, 'GET', `/keys/${betaKey.id}`, undefined, ta()));
    expectPermissionDenied(await admin(h.url, 'POST', '/keys', { team: 'beta' }, ta()));
    expectPermissionDenied(await admin(h.url, 'POST', `/keys/${betaKey.id}/rotate`, { graceMs: 0 }, ta()));
    expectPermissionDenied(await admin(h.url, 'PATCH', `/keys/${betaKey.id}`, { role: 'team_admin' }, ta()));
    // Refused before anything about the request is checked (which model aliases exist is not told).
    expectPermissionDenied(await admin(h.url, 'PATCH', `/keys/${betaKey.id}`, { models: ['no-such-model'] }, ta()));
    expectPermissionDenied(await admin(h.url, 'DELETE', `/keys/${betaKey.id}`, undefined, ta()));
    expectPermissionDenied(await admin(h.url, 'GET', '/keys?team=beta', undefined, ta()));
    // The key of beta still works as it did, with its secret unchanged.
    expect((await chat(h.url, chatBody('gpt-mini'), { key: betaKey.key })).status).toBe(200);
    expect((await admin(h.url, 'GET', `/keys/${betaKey.id}`)).body).toMatchObject({ role: 'member', revokedAt: null });
  });

  it("a team admin cannot change their own team's models or limits (that would raise their own allowance)", async () => {
    const before = (await admin(h.url, 'GET', '/teams/alpha')).body;
    expectPermissionDenied(await admin(h.url, 'PATCH', '/teams/alpha', { models: ['gpt-mini', 'other'] }, ta()));
    expectPermissionDenied(await admin(h.url, 'PATCH', '/teams/alpha', { limits: { requests: { capacity: 1e6, refillPerSecond: 1e6 } } }, ta()));
    expectPermissionDenied(await admin(h.url, 'DELETE', '/teams/alpha', undefined, ta()));
    expect((await admin(h.url, 'GET', '/teams/alpha')).body).toEqual(before);
    // Nor give a key of their team more than the team has.
    const wider = await admin(h.url, 'POST', '/keys', { team: 'alpha', models: ['other'] }, ta());
    expect(wider.status).toBe(400);
    expect(wider.body.error.param).toBe('models[0]');
  });

  it('a team admin manages their own team: issues, rotates, revokes keys and sets members of alpha', async () => {
    const made = await admin(h.url, 'POST', '/keys', { team: 'alpha', name: 'by-team-admin' }, ta());
    expect(made.status, made.text).toBe(201);
    expect((await chat(h.url, chatBody('gpt-mini'), { key: made.body.key })).status).toBe(200);
    const rotated = await admin(h.url, 'POST', `/keys/${made.body.id}/rotate`, { graceMs: 0 }, ta());
    expect(rotated.status, rotated.text).toBe(200);
    expect((await chat(h.url, chatBody('gpt-mini'), { key: made.body.key })).status).toBe(401);
    expect((await admin(h.url, 'DELETE', `/keys/${made.body.id}`, undefined, ta())).status).toBe(200);
    expect((await chat(h.url, chatBody('gpt-mini'), { key: rotated.body.key })).status).toBe(401);
    const person = await fresh.user();
    expect((await admin(h.url, 'PUT', `/teams/alpha/members/${person}`, { role: 'member' }, ta())).status).toBe(200);
    expectPermissionDenied(await admin(h.url, 'PUT', `/teams/beta/members/${person}`, { role: 'team_admin' }, ta()));
    // A team admin cannot give anyone a role over every team, themselves included.
    expectPermissionDenied(await admin(h.url, 'PATCH', `/users/${person}`, { role: 'admin' }, ta()));
  });

  it('lists are filtered to the teams a caller may see, not refused', async () => {
    const betaKey = await fresh.key('beta');
    const betaOnly = await fresh.user('beta');
    const both = await fresh.user('alpha');
    await ok(admin(h.url, 'PUT', `/teams/beta/members/${both}`, { role: 'member' }));
    for (const p of [who('API key team_admin'), who('JWT team+roles viewer'), who('store membership team_admin')]) {
      const teams = await admin(h.url, 'GET', '/teams', undefined, p.credential);
      expect(teams.status, p.name).toBe(200);
      expect(teams.body.data.map((t: { name: string }) => t.name)).toEqual(['alpha']);
      const keys = await admin(h.url, 'GET', '/keys?limit=1000', undefined, p.credential);
      expect(keys.status, p.name).toBe(200);
      expect(keys.body.data.length).toBeGreaterThan(0);
      expect(new Set(keys.body.data.map((k: { team: string }) => k.team))).toEqual(new Set(['alpha']));
      expect(keys.text).not.toContain(betaKey.id);
      const users = await admin(h.url, 'GET', '/users?limit=1000', undefined, p.credential);
      expect(users.status, p.name).toBe(200);
      const ids = users.body.data.map((u: { id: string }) => u.id);
      expect(ids).toContain(both);
      expect(ids).not.toContain(betaOnly);
      // Of a person in both teams, only the alpha membership is shown.
      expect(users.body.data.find((u: { id: string }) => u.id === both).teams).toEqual([{ team: 'alpha', role: 'member' }]);
      expect(users.text).not.toContain('"beta"');
      // A single person outside the caller's teams is refused like any other denied read.
      expectPermissionDenied(await admin(h.url, 'GET', `/users/${betaOnly}`, undefined, p.credential));
      expect((await admin(h.url, 'GET', `/users/${both}`, undefined, p.credential)).body.teams).toEqual([{ team: 'alpha', role: 'member' }]);
    }
  });

  it('a viewer reads but cannot write', async () => {
    for (const p of [who('API key viewer'), who('JWT team+roles viewer'), who('store membership viewer'), who('JWT roles [viewer]'), who('store user role viewer')]) {
      expect((await admin(h.url, 'GET', '/keys', undefined, p.credential)).status, p.name).toBe(200);
      expect((await admin(h.url, 'GET', '/teams/alpha/members', undefined, p.credential)).status, p.name).toBe(200);
      expectPermissionDenied(await admin(h.url, 'POST', '/keys', { team: 'alpha' }, p.credential));
      expectPermissionDenied(await admin(h.url, 'PUT', `/teams/alpha/members/${await fresh.user()}`, { role: 'viewer' }, p.credential));
    }
  });

  it('a member (and a config-file key) cannot use the admin API at all, not even to learn what exists', async () => {
    const alphaKey = await fresh.key('alpha');
    for (const p of [who('API key member'), who('JWT team+roles member'), who('store membership member'), who('config-file key')]) {
      for (const [method, path, body] of [
        ['GET', '/teams', undefined],
        ['GET', `/teams/${p.team?.own}`, undefined],
        ['GET', '/keys', undefined],
        ['GET', `/keys/${alphaKey.id}`, undefined],
        // Unknown ids and invalid bodies are not told apart from known ones: the answer is 403 first.
        ['GET', '/keys/key_does_not_exist', undefined],
        ['DELETE', '/keys/key_does_not_exist', undefined],
        ['POST', '/keys/key_does_not_exist/rotate', {}],
        ['PATCH', `/keys/${alphaKey.id}`, { models: ['no-such-model'] }],
        ['POST', '/keys', { team: p.team?.own, models: ['no-such-model'] }],
        ['GET', '/users/user_does_not_exist', undefined],
        ['POST', '/teams', { name: 'x', models: [] }],
        ['GET', '/audit', undefined],
      ] as const) {
        const res = await admin(h.url, method, path, body, p.credential);
        expect({ who: p.name, method, path, status: res.status, code: res.body?.error?.code }).toEqual({ who: p.name, method, path, status: 403, code: 'permission_denied' });
      }
      // Only who they are.
      const me = await admin(h.url, 'GET', '/me', undefined, p.credential);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ role: null, teams: [{ team: p.team?.own, role: 'member' }] });
    }
  });
});

describe('RBAC on the data plane: who may call models', () => {
  it.each([
    ['API key team_admin', 200],
    ['API key member', 200],
    ['API key viewer', 403],
    ['JWT team+roles team_admin', 200],
    ['JWT team+roles member', 200],
    ['JWT team+roles viewer', 403],
    ['store membership team_admin', 200],
    ['store membership member', 200],
    // The token names no role (so the default, member, would apply): the store says viewer.
    ['store membership viewer', 403],
    ['config-file key', 200],
    // Global roles name no team to bill: refused, with a message saying so.
    ['JWT roles [admin]', 403],
    ['JWT roles [viewer]', 403],
    ['store user role admin', 403],
  ] as const)('%s → %i', async (name, status) => {
    const res = await chat(h.url, chatBody('gpt-mini'), { key: who(name).credential });
    expect(res.status, res.text).toBe(status);
    if (status === 403) expect(res.json().error).toMatchObject({ type: 'permission_error', code: 'permission_denied' });
  });

  it('the bootstrap credential is not a data-plane key', async () => {
    const res = await chat(h.url, chatBody('gpt-mini'), { key: ADMIN_KEY });
    expect(res.status).toBe(401);
    expect(res.json().error.code).toBe('invalid_api_key');
  });
});
