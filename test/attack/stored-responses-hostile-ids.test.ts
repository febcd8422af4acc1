/**
 * Attack on issue 16 (stored responses): another team's response through odd spellings of its
 * id, on the SQL store (embedded database): case, percent-encoding, trailing slashes, path
 * tricks, SQL metacharacters, NUL, a very long id; as GET, DELETE, input_items and
 * previous_response_id. Every one is a 404 (or the 400 previous_response_not_found) in OpenAI's
 * shape, never echoes a long or hostile id, never reaches the upstream, and the owner still
 * has the response afterwards.
 *
 * Nothing found: kept as a regression test (≈ 2 s).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, deploymentFor, dispatcherOption, KEY, startHarness, type Harness } from '../helpers/harness.js';

const OTHER_KEY = 'sk-test-other-0123456789';

describe("another team's stored response, by every spelling of its id", () => {
  let h: Harness;
  let id: string;
  beforeAll(async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'secret answer' } }],
      config: (f) => ({
        deployments: { o: deploymentFor(f[0]!) },
        models: { oa: { targets: [{ deployment: 'o', model: 'up' }] } },
        tenants: { main: { keys: [KEY], models: ['*'] }, other: { keys: [OTHER_KEY], models: ['*'] } },
        state: { database: { dataDir: ':memory:' } },
      }),
    });
    id = (await chat(h.url, { model: 'oa', input: 'private question' }, { path: '/v1/responses' })).json().id as string;
  }, 60_000);
  afterAll(() => h?.close());

  async function call(method: 'GET' | 'DELETE', path: string, key: string): Promise<{ status: number; text: string }> {
    const res = await request(`${h.url}${path}`, { method, headers: { authorization: `Bearer ${key}` }, ...dispatcherOption(h.url) });
    return { status: res.statusCode, text: await res.body.text() };
  }

  it('GET, DELETE and input_items: 404 for every spelling; the owner keeps it', async () => {
    const hex = id.slice('resp_'.length);
    const spellings = [
      id,
      id.toUpperCase(),
      `%72esp_${hex}`,
      encodeURIComponent(id).replace(/_/g, '%5F'),
      `${id}%00`,
      `${id}%20`,
      `${id}'%20OR%20'1'%3D'1`,
      `${id}%25`,
      `x%2F..%2F${id}`,
      `${id}${'a'.repeat(10_000)}`,
      `resp_%`,
      `resp_*`,
    ];
    for (const s of spellings) {
      for (const [method, path] of [['GET', `/v1/responses/${s}`], ['DELETE', `/v1/responses/${s}`], ['GET', `/v1/responses/${s}/input_items`], ['GET', `/v1/responses/${s}/`]] as const) {
        const res = await call(method, path, OTHER_KEY);
        expect(res.status, `${method} ${path.slice(0, 80)}`).toBe(404);
        expect(res.text).not.toContain('secret answer');
        expect(res.text.length).toBeLessThan(1_000);
      }
    }
    const calls = h.fakes[0]!.stats.requests;
    for (const s of [id, id.toUpperCase(), ` ${id}`, `${id}\u0000`, `${id}' OR '1'='1`, `${id}%`, id.repeat(100)]) {
      const res = await chat(h.url, { model: 'oa', input: 'give me theirs', previous_response_id: s }, { path: '/v1/responses', key: OTHER_KEY });
      expect(res.status).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'previous_response_not_found', param: 'previous_response_id' });
      expect(res.text.length).toBeLessThan(1_000);
    }
    expect(h.fakes[0]!.stats.requests).toBe(calls);
    const mine = await call('GET', `/v1/responses/${id}`, KEY);
    expect(mine.status).toBe(200);
    expect(mine.text).toContain('secret answer');
  });
});
