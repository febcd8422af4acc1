/**
 * Attack on issue 16 (stored responses): `GET /v1/responses/{id}/input_items` pages by item id
 * (`after` = the last id of the previous page). Input item ids are the client's when it sent
 * some, and nothing made them unique or short: two items sent with the same id made `after`
 * land on the first of them for ever (page 2 = page 3 = …, `has_more: true`), so the official
 * SDK's auto-pagination never ended; an item id longer than `after` accepts (256) made the next
 * page a 400.
 *
 * FINDING (medium: a client loops for ever; fixed in input-items-page.ts): measured before the
 * fix, 50 pages requested for 3 items, the same item on pages 2..50. A listed id that is already
 * taken in the listing, or too long to come back as `after`, is now listed under the positional
 * id items without one get.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, deploymentFor, KEY, startHarness, type Harness } from '../helpers/harness.js';

type Json = Record<string, any>;

describe('input_items paging over client-chosen item ids', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'ok' } }],
      config: (f) => ({ deployments: { o: deploymentFor(f[0]!) }, models: { oa: { targets: [{ deployment: 'o', model: 'up' }] } } }),
    });
  }, 30_000);
  afterAll(() => h?.close());

  async function texts(input: Json[], order: 'asc' | 'desc'): Promise<string[]> {
    const res = await chat(h.url, { model: 'oa', input }, { path: '/v1/responses' });
    expect(res.status, res.text).toBe(200);
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 5_000 });
    const seen: string[] = [];
    for await (const item of client.responses.inputItems.list(res.json().id, { limit: 1, order })) {
      seen.push(((item as Json).content as Json[])[0]!.text as string);
      // Bounded: a listing that never ends shows up as too many pages.
      if (seen.length >= 50) break;
    }
    return seen;
  }

  it.each(['asc', 'desc'] as const)('two items sent with the same id (%s): every item once, and the listing ends', async (order) => {
    const input = [
      { type: 'message', id: 'msg_same', role: 'user', content: 'one' },
      { type: 'message', id: 'msg_same', role: 'user', content: 'two' },
      { type: 'message', id: 'msg_other', role: 'user', content: 'three' },
    ];
    const seen = await texts(input, order);
    expect(seen).toEqual(order === 'asc' ? ['one', 'two', 'three'] : ['three', 'two', 'one']);
  });

  it('an item id longer than `after` accepts: the next page is still reachable', async () => {
    const input = [
      { type: 'message', id: `msg_${'x'.repeat(400)}`, role: 'user', content: 'long' },
      { type: 'message', role: 'user', content: 'short' },
    ];
    expect(await texts(input, 'asc')).toEqual(['long', 'short']);
  });
});
