/**
 * Attack on issue 12: the request log, the daily spend and stored payloads are filed under the
 * team's NAME. A team that is deleted leaves them behind; a new team later made with the same
 * name (other people, its own team admin) is then shown the old team's requests, their stored
 * prompts and completions, and its spend, and the old spend counts against the new team's budget
 * at restart. Over real sockets, embedded store.
 *
 * FINDING (medium, cross-team leak; fixed): a name with a request log or spend stays the deleted
 * team's: making a team of that name again is refused (409), so nobody new is shown its history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startAdminHarness } from '../helpers/admin.js';
import { chat, chatBody, type Harness } from '../helpers/harness.js';

let h: Harness;
let oldId: string;

beforeAll(async () => {
  h = await startAdminHarness(['gpt-mini'], { models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm', price: { input: '0.15', output: '0.6' } }] } }, requestLog: { flushMs: 100 } });
  // The first "acme": stores its prompts; one of its people asks something private.
  expect((await admin(h.url, 'POST', '/teams', { name: 'acme', models: ['gpt-mini'], payloads: { store: true, maxBytes: 4_096 } })).status).toBe(201);
  const key = (await admin(h.url, 'POST', '/keys', { team: 'acme' })).body.key as string;
  const res = await chat(h.url, chatBody('gpt-mini', { messages: [{ role: 'user', content: 'the merger with initech closes friday' }] }), { key });
  expect(res.status).toBe(200);
  oldId = res.headers['x-gateway-request-id'] as string;
  const until = Date.now() + 10_000;
  while ((await admin(h.url, 'GET', `/requests/${oldId}`)).status !== 200) {
    if (Date.now() > until) throw new Error('the row was not written');
    await new Promise((r) => setTimeout(r, 50));
  }
  // acme is deleted; later a different customer's team would like the name.
  expect((await admin(h.url, 'DELETE', '/teams/acme')).status).toBe(200);
}, 60_000);
afterAll(() => h?.close());

describe("a new team with a deleted team's name", () => {
  it('is refused: the name keeps its request log, so nobody new can be shown it', async () => {
    const again = await admin(h.url, 'POST', '/teams', { name: 'acme', models: ['gpt-mini'] });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain("The name 'acme' belonged to a deleted team");
    // The old request stays an admin's to read; no team_admin of a new 'acme' can exist.
    expect((await admin(h.url, 'POST', '/keys', { team: 'acme', role: 'team_admin' })).status).toBe(400);
    expect((await admin(h.url, 'GET', `/requests/${oldId}`)).body.payload.request).toContain('initech');
  });

  it('a name never used is free, and one taken and deleted before any request is free again', async () => {
    expect((await admin(h.url, 'POST', '/teams', { name: 'fresh', models: ['gpt-mini'] })).status).toBe(201);
    expect((await admin(h.url, 'DELETE', '/teams/fresh')).status).toBe(200);
    expect((await admin(h.url, 'POST', '/teams', { name: 'fresh', models: ['gpt-mini'] })).status).toBe(201);
  });
});
