import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { FakeIdp } from '../../src/testing/fake-idp.js';
import { ADMIN_KEY, admin, type AdminResult } from '../helpers/admin.js';
import { chat, chatBody, deploymentFor, KEY, scrapeMetrics, startHarness, type Harness } from '../helpers/harness.js';

/**
 * Every secret the control plane handles (the bootstrap key, issued and rotated key secrets, a
 * config key, signed tokens, near misses of each) and every digest of one, looked for in every
 * log line at debug level, every answer of the admin API, the audit export, /metrics and the
 * OpenAPI document, after a session that uses them all, successfully and not.
 */
let h: Harness;
let idp: FakeIdp;
const logLines: string[] = [];

beforeAll(async () => {
  idp = await FakeIdp.start();
  await idp.addKey('ES256');
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
    logger: createLogger({ level: 'debug', format: 'json', destination: sink }),
    config: (f) => ({
      logging: { level: 'debug' },
      deployments: { d: deploymentFor(f[0]!) },
      models: { m: { targets: [{ deployment: 'd', model: 'm' }] } },
      admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      identity: { jwt: { issuer: idp.issuer, audience: 'gateway', jwksUrl: idp.jwksUrl, algorithms: ['ES256'] } },
      state: { database: { dataDir: ':memory:' } },
    }),
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await idp?.close();
});

describe('secrets in what the gateway writes', () => {
  it('appear in no log line, answer, audit entry, metric or API document', async () => {
    const secrets = [ADMIN_KEY, KEY, `${ADMIN_KEY.slice(0, -1)}X`];
    const answers: string[] = [];
    const call = async (method: Parameters<typeof admin>[1], path: string, body?: unknown, key?: string): Promise<AdminResult> => {
      const r = await admin(h.url, method, path, body, key);
      answers.push(r.text);
      return r;
    };
    await call('POST', '/teams', { name: 'vault', models: ['m'] });
    const issued = await call('POST', '/keys', { team: 'vault', role: 'team_admin', name: 'ci' });
    const rotated = await call('POST', `/keys/${issued.body.id}/rotate`, {}, issued.body.key);
    const viewer = await call('POST', '/keys', { team: 'vault', role: 'viewer' }, rotated.body.key);
    // The answers that carry a secret are the two meant to; they are left out of the search below.
    answers.length = 0;
    secrets.push(issued.body.key, rotated.body.key, viewer.body.key, `${rotated.body.key}x`);
    for (const key of [issued.body.key, rotated.body.key, KEY]) expect((await chat(h.url, chatBody('m'), { key })).status).toBe(200);
    expect((await chat(h.url, chatBody('m'), { key: viewer.body.key })).status).toBe(403);
    expect((await chat(h.url, chatBody('m'), { key: `${rotated.body.key}x` })).status).toBe(401);
    await call('GET', '/keys?team=vault', undefined, viewer.body.key);
    await call('GET', '/me', undefined, `${ADMIN_KEY.slice(0, -1)}X`);
    await call('PATCH', `/keys/${issued.body.id}`, { name: 'renamed' });
    await call('DELETE', `/keys/${issued.body.id}`);
    await call('GET', '/me', undefined, rotated.body.key);
    const forged = `${Buffer.from('{"alg":"ES256","kid":"key-1"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', iss: idp.issuer, aud: 'gateway' })).toString('base64url')}.${'A'.repeat(86)}`;
    secrets.push(forged);
    await call('GET', '/me', undefined, forged);
    expect((await chat(h.url, chatBody('m'), { key: forged })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 400)); // the security-event queue flushes every 250 ms
    const exported = await request(`${h.url}/admin/v1/audit/export`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    answers.push(await exported.body.text());
    answers.push((await call('GET', '/audit?limit=1000')).text, (await call('GET', '/openapi.json')).text, await scrapeMetrics(h.url));
    await h.close();

    const haystack = [...logLines, ...answers].join('\n');
    expect(logLines.length).toBeGreaterThan(20);
    expect(haystack).toContain('key.rotated');
    for (const secret of secrets) {
      expect(haystack).not.toContain(secret);
      for (const encoding of ['utf8', 'latin1'] as const) expect(haystack).not.toContain(createHash('sha256').update(secret, encoding).digest('hex'));
    }
    expect(haystack).not.toMatch(/sk-gw-[A-Za-z0-9_-]{12}/);
  });
});
