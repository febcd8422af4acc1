/**
 * Attack on who may watch the console, over real sockets: every team role, a config key and a
 * refused token are kept off /live and /deployments; another team's requests (their attempt
 * logs and trace ids) and spend rows (JSON and CSV alike) stay hidden from a team role; a live
 * stream stops when its person is deleted or its token expires; and slots do not leak when
 * streams open and close by the thousand or are abandoned before their answer.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeIdp } from '../../src/testing/fake-idp.js';
import { ADMIN_KEY, admin, openStream, type OpenStream, startAdminHarness } from '../helpers/admin.js';
import { chat, chatBody, KEY, type Harness } from '../helpers/harness.js';
import { identityConfig, signToken } from '../helpers/identity.js';

let h: Harness;
let idp: FakeIdp;
let token: (claims: Record<string, unknown>) => Promise<string>;
const keys: Record<string, string> = {};

beforeAll(async () => {
  idp = await FakeIdp.start();
  const signer = await idp.addKey('ES256');
  token = (claims) => signToken(idp, signer, claims);
  h = await startAdminHarness(['gpt-mini'], {
    requestLog: { flushMs: 100 },
    // No clock tolerance: a token is refused the second it expires (the default 30 s would let it watch that much longer).
    identity: identityConfig(idp, { clockToleranceSeconds: 0 }),
  });
  for (const team of ['alpha', 'beta']) expect((await admin(h.url, 'POST', '/teams', { name: team, models: ['gpt-mini'] })).status).toBe(201);
  for (const role of ['team_admin', 'viewer', 'member']) {
    for (const team of ['alpha', 'beta']) keys[`${team}:${role}`] = (await admin(h.url, 'POST', '/keys', { team, role })).body.key as string;
  }
}, 60_000);

afterAll(async () => {
  await h?.close();
  await idp?.close();
});

const until = async <T>(what: string, get: () => Promise<T | undefined>, ms = 5_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const endsWithin = (s: OpenStream, ms: number, what: string): Promise<unknown> => Promise.race([s.ended, new Promise((_, reject) => setTimeout(() => reject(new Error(what)), ms))]);

describe('who may open /live and /deployments', () => {
  it('no team role, no config key, no refused or expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string, number]> = [
      ['team_admin key', keys['alpha:team_admin']!, 403],
      ['team viewer key', keys['alpha:viewer']!, 403],
      ['member key', keys['alpha:member']!, 403],
      ['config key', KEY, 403],
      ['token: team_admin of a team', await token({ sub: 'ta', team: 'alpha', roles: ['team_admin'] }), 403],
      ['token: no role', await token({ sub: 'nobody' }), 403],
      ['expired token with admin', await token({ sub: 'old', roles: ['admin'], iat: now - 7_200, exp: now - 3_600 }), 401],
      ['unknown key', 'sk-gw-not-a-key-0123456789abcdef', 401],
    ];
    for (const [what, credential, status] of cases) {
      const s = await openStream(h.url, '/live', credential);
      expect(s.status, what).toBe(status);
      expect(s.body.error.code, what).toMatch(/permission_denied|invalid_token|invalid_api_key/);
      expect((await admin(h.url, 'GET', '/deployments', undefined, credential)).status, what).toBe(status);
    }
  });

  it('a global viewer token may watch; its stream ends when the token expires', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3;
    const s = await openStream(h.url, '/live', await token({ sub: 'short', roles: ['viewer'], exp }));
    try {
      expect(s.status).toBe(200);
      await s.next((e) => e.event === 'tick');
      await endsWithin(s, exp * 1000 - Date.now() + 4_000, 'the stream outlived its token by more than 4 s');
    } finally {
      s.close();
    }
  }, 20_000);

  it('a person deleted while watching is cut', async () => {
    const id = (await admin(h.url, 'POST', '/users', { subject: 'deleted-watcher', role: 'viewer' })).body.id as string;
    const s = await openStream(h.url, '/live', await token({ sub: 'deleted-watcher' }));
    try {
      expect(s.status).toBe(200);
      await s.next((e) => e.event === 'tick');
      expect((await admin(h.url, 'DELETE', `/users/${id}`)).status).toBe(200);
      await endsWithin(s, 5_000, 'the stream of a deleted person was not cut within 5 s');
    } finally {
      s.close();
    }
  }, 20_000);
});

describe("another team's requests", () => {
  it('their attempt logs, trace ids and spend rows stay hidden from a team role, in JSON and CSV', async () => {
    const traceId = 'abcdef0123456789abcdef0123456789';
    const res = await chat(h.url, chatBody('gpt-mini'), { key: keys['beta:member']!, headers: { traceparent: `00-${traceId}-0123456789abcdef-01` } });
    expect(res.status).toBe(200);
    const id = res.headers['x-gateway-request-id'] as string;
    const row = await until('the request in the log', async () => {
      const r = await admin(h.url, 'GET', `/requests/${id}`);
      return r.status === 200 ? r.body : undefined;
    });
    expect(row).toMatchObject({ team: 'beta', traceId, attemptLog: [{ n: 1, deployment: 'd', outcome: 'success', next: null, reason: null }] });
    for (const role of ['team_admin', 'viewer']) {
      const other = keys[`alpha:${role}`]!;
      const one = await admin(h.url, 'GET', `/requests/${id}`, undefined, other);
      expect(one.status, role).toBe(403);
      expect(one.text).not.toContain(traceId);
      const list = await admin(h.url, 'GET', '/requests', undefined, other);
      expect(list.status).toBe(200);
      expect(list.text).not.toContain(traceId);
      expect(list.text).not.toContain(id);
      expect((await admin(h.url, 'GET', '/requests?team=beta', undefined, other)).status).toBe(403);
      expect((await admin(h.url, 'GET', '/spend?team=beta&format=csv', undefined, other)).status).toBe(403);
      const csv = await admin(h.url, 'GET', '/spend?format=csv&group_by=team,key', undefined, other);
      expect(csv.status).toBe(200);
      expect(csv.text).not.toContain('beta');
    }
    for (const role of ['member']) {
      expect((await admin(h.url, 'GET', `/requests/${id}`, undefined, keys[`beta:${role}`]!)).status).toBe(403);
      expect((await admin(h.url, 'GET', '/spend?format=csv', undefined, keys[`beta:${role}`]!)).status).toBe(403);
    }
  }, 30_000);
});

describe('stream slots', () => {
  it('do not leak when 1,000 streams open and close quickly', async () => {
    let opened = 0;
    for (let batch = 0; batch < 100; batch++) {
      const streams = await Promise.all(Array.from({ length: 10 }, () => openStream(h.url)));
      for (const s of streams) {
        if (s.status === 200) opened++;
        s.close();
      }
    }
    expect(opened).toBeGreaterThan(500);
    await allSixteenOpen();
  }, 120_000);

  it('do not leak when clients give up before the answer', async () => {
    for (let i = 0; i < 64; i++) {
      const req = httpRequest(`${h.url}/admin/v1/live`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      req.on('error', () => undefined);
      req.end();
      setImmediate(() => req.destroy());
    }
    await new Promise((r) => setTimeout(r, 50));
    await allSixteenOpen();
  }, 60_000);
});

/** Opens 16 streams (retrying for a while, as a slot of a closed stream frees once its close is seen), checks the 17th is a 429, closes them. */
async function allSixteenOpen(): Promise<void> {
  const open: OpenStream[] = [];
  try {
    const end = Date.now() + 5_000;
    while (open.length < 16 && Date.now() < end) {
      const s = await openStream(h.url);
      if (s.status === 200) open.push(s);
      else await new Promise((r) => setTimeout(r, 20));
    }
    expect(open.length).toBe(16);
    expect((await openStream(h.url)).status).toBe(429);
  } finally {
    for (const s of open) s.close();
  }
}
