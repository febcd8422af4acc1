import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { ADMIN_KEY, admin } from '../helpers/admin.js';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from '../helpers/harness.js';

/**
 * Strings PostgreSQL cannot hold, and names JavaScript objects already have, sent to every part
 * of the admin API that reaches a query: each is a 4xx naming what is wrong, never a 500 from
 * the database, and nothing is written.
 */
let h: Harness;
const logLines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
    logger: createLogger({ level: 'info', format: 'json', destination: sink }),
    config: (f) => ({
      logging: { level: 'info' },
      deployments: { d: deploymentFor(f[0]!) },
      models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm' }] } },
      admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      state: { database: { dataDir: ':memory:' } },
    }),
  });
  expect((await admin(h.url, 'POST', '/teams', { name: 'strings' })).status).toBe(201);
}, 60_000);
afterAll(() => h?.close());

const internalErrors = (): string[] => logLines.filter((l) => l.includes('internal error while handling a request'));

describe('hostile strings on the admin API', () => {
  it('refuses unpaired surrogates in every body string with a 400 naming the field (jsonb cannot hold them)', async () => {
    const before = (await admin(h.url, 'GET', '/teams')).text;
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/teams', { name: 'sur1', metadata: { k: 'a\ud800' } }, 'metadata.k'],
      ['POST', '/teams', { name: 'sur2', metadata: { ['\udc00k']: 'v' } }, 'metadata'],
      ['POST', '/keys', { team: 'strings', name: 'x\udfff' }, 'name'],
      ['POST', '/keys', { team: 'strings', metadata: { owner: '\ud83d' } }, 'metadata.owner'],
      ['POST', '/users', { subject: 'sub\ud800' }, 'subject'],
      ['POST', '/users', { subject: 'ok-subject', email: '\udc00@corp' }, 'email'],
    ];
    for (const [method, path, body, param] of cases) {
      const r = await admin(h.url, method as 'POST', path, body);
      expect(r.status, `${path} ${r.text}`).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
      expect(r.body.error.message).toContain(param);
    }
    // A well-formed pair (an emoji) is fine.
    expect((await admin(h.url, 'POST', '/keys', { team: 'strings', name: 'rocket \ud83d\ude80' })).status).toBe(201);
    expect((await admin(h.url, 'GET', '/teams')).text).toBe(before);
    expect((await admin(h.url, 'GET', '/users')).body.data).toEqual([]);
    expect(internalErrors()).toEqual([]);
  });

  it('answers ids and filters holding U+0000 with 400, naming the parameter of a filter', async () => {
    for (const path of ['/keys/%00', '/keys/key_%00', '/teams/%00', '/users/user_%00', '/teams/%00/members']) {
      const r = await admin(h.url, 'GET', path);
      expect(r.status, `${path} ${r.text}`).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
    }
    for (const [method, path] of [['PATCH', '/keys/%00'], ['DELETE', '/keys/%00'], ['DELETE', '/teams/%00'], ['DELETE', '/users/%00'], ['PUT', '/teams/strings/members/%00']] as const) {
      const r = await admin(h.url, method, path, method === 'DELETE' ? undefined : method === 'PUT' ? { role: 'member' } : {});
      expect(r.status, `${method} ${path} ${r.text}`).toBe(400);
    }
    for (const [path, param] of [['/keys?after=%00', 'after'], ['/keys?team=a%00', 'team'], ['/users?after=x%00', 'after'], ['/audit?actor=%00', 'actor'], ['/audit?targetId=%00', 'targetId'], ['/audit/export?action=%00', 'action']]) {
      const r = await admin(h.url, 'GET', path as string);
      expect(r.status, `${path} ${r.text}`).toBe(400);
      expect(r.body.error.param).toBe(param);
    }
    expect(internalErrors()).toEqual([]);
  });

  it('serves teams named like Object.prototype members, and never confuses an absent one with them', async () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      expect((await admin(h.url, 'POST', '/teams', { name, models: ['gpt-mini'] })).status).toBe(201);
      const key = await admin(h.url, 'POST', '/keys', { team: name, role: 'team_admin' });
      expect(key.status, key.text).toBe(201);
      expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(200);
      const me = await admin(h.url, 'GET', '/me', undefined, key.body.key);
      expect(me.body.teams).toEqual([{ team: name, role: 'team_admin' }]);
      // Its team admin rights stop at its own team.
      expect((await admin(h.url, 'POST', '/keys', { team: 'strings' }, key.body.key)).status).toBe(403);
    }
    for (const name of ['valueOf', 'isPrototypeOf']) {
      const r = await admin(h.url, 'POST', '/keys', { team: name });
      expect(r.status).toBe(400);
      expect(r.body.error.param).toBe('team');
      expect((await admin(h.url, 'GET', `/teams/${name}`)).status).toBe(404);
    }
    const proto = await admin(h.url, 'POST', '/keys', JSON.parse('{"team":"strings","metadata":{"__proto__":{"role":"team_admin"}}}'));
    expect(proto.status).toBe(400);
    expect(proto.body.error.code).toBe('invalid_json');
  });

  it('names at most 20 invalid fields of a body with thousands of them, and counts the rest', async () => {
    const metadata: Record<string, string> = {};
    for (let i = 0; i < 3_000; i++) metadata[`k${i}`] = '\u0001';
    const r = await admin(h.url, 'POST', '/teams', { name: 'wide', metadata });
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe('metadata.k0');
    expect(r.body.error.message).toMatch(/; and 29[89]\d more\.$/);
    expect(r.text.length).toBeLessThan(4_096);
  });
});
