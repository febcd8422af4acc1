/**
 * Attack on issue 12, "every request ends in exactly one row": requests refused at auth, at
 * parse, for an unknown model, and a stream the client walks away from mid-way, over real
 * sockets (embedded store). Each id the client saw must have exactly one row, with a start time
 * within the client's own send..answer window.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startAdminHarness } from '../helpers/admin.js';
import { chat, chatBody, type Harness } from '../helpers/harness.js';

let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startAdminHarness(['gpt-mini'], { models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm', price: { input: '0.15', output: '0.6' } }] } }, requestLog: { flushMs: 100 } }, { dialect: 'openai', behaviour: { chunks: 20, chunkIntervalMs: 100 } });
  expect((await admin(h.url, 'POST', '/teams', { name: 'team1', models: ['gpt-mini'] })).status).toBe(201);
  key = (await admin(h.url, 'POST', '/keys', { team: 'team1' })).body.key;
}, 60_000);
afterAll(() => h?.close());

describe('one row per request that ends', () => {
  it('refused at auth, at parse, for an unknown model, and a stream abandoned mid-way', async () => {
    const sent: Array<{ id: string; from: number; to: number; what: string }> = [];
    const track = async (what: string, run: () => Promise<{ headers: Record<string, string | string[] | undefined> }>): Promise<void> => {
      const from = Date.now();
      const res = await run();
      sent.push({ id: res.headers['x-gateway-request-id'] as string, from, to: Date.now(), what });
    };
    await track('no key', () => chat(h.url, chatBody('gpt-mini'), { key: null }));
    await track('bad key', () => chat(h.url, chatBody('gpt-mini'), { key: 'sk-gw-nobody-000000000000000000000000000000' }));
    await track('bad json', () => chat(h.url, '{"model": "gpt-mini", "messages": [', { key }));
    await track('not an object', () => chat(h.url, '[]', { key }));
    await track('unknown model', () => chat(h.url, chatBody('no-such-model'), { key }));
    await track('no messages', () => chat(h.url, { model: 'gpt-mini' }, { key }));
    // A stream of 20 chunks 100 ms apart: the client leaves after the first bytes.
    {
      const from = Date.now();
      const ac = new AbortController();
      const res = await request(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(chatBody('gpt-mini', { stream: true })), signal: ac.signal });
      const id = res.headers['x-gateway-request-id'] as string;
      for await (const _ of res.body) break;
      ac.abort();
      res.body.destroy();
      sent.push({ id, from, to: Date.now() + 3_000, what: 'abandoned stream' });
    }
    for (const s of sent) expect(s.id, s.what).toEqual(expect.any(String));

    const until = Date.now() + 10_000;
    let rows: Array<{ id: string; startedAt: string; outcome: string }> = [];
    while (Date.now() < until) {
      rows = (await admin(h.url, 'GET', '/requests?limit=1000')).body.data;
      if (sent.every((s) => rows.some((r) => r.id === s.id))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Let a late duplicate (a second event for the same request) arrive too.
    await new Promise((r) => setTimeout(r, 500));
    rows = (await admin(h.url, 'GET', '/requests?limit=1000')).body.data;
    const report = sent.map((s) => {
      const mine = rows.filter((r) => r.id === s.id);
      const at = mine[0] ? Date.parse(mine[0].startedAt) : NaN;
      return { what: s.what, rows: mine.length, startedInWindow: at >= s.from - 5 && at <= s.to };
    });
    expect(report).toEqual(sent.map((s) => ({ what: s.what, rows: 1, startedInWindow: true })));
  }, 30_000);
});
