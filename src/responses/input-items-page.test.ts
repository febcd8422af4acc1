import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error.js';
import { inputItemsQuery, pageInputItems } from './input-items-page.js';

const items = [
  { type: 'message', id: 'msg_a', role: 'user', content: 'a' },
  { type: 'function_call_output', call_id: 'c1', output: 'x' },
  { type: 'message', id: 'msg_c', role: 'user', content: 'c' },
];

const q = (s: string) => inputItemsQuery(new URLSearchParams(s));

describe('input_items paging', () => {
  it("defaults: newest first, 20 a page; ids of id-less items are stable and made from the response's", () => {
    const page = pageInputItems('resp_abc', items, q(''));
    expect(page.data.map((i) => i.id)).toEqual(['msg_c', 'item_abc_1', 'msg_a']);
    expect(page).toMatchObject({ object: 'list', first_id: 'msg_c', last_id: 'msg_a', has_more: false });
    expect(pageInputItems('resp_abc', items, q('')).data[1]?.id).toBe('item_abc_1');
  });

  it('walks every item once with limit and after, in both orders', () => {
    for (const order of ['asc', 'desc']) {
      const seen: string[] = [];
      let after = '';
      for (let i = 0; i < 5; i++) {
        const page = pageInputItems('resp_abc', items, q(`order=${order}&limit=1${after}`));
        seen.push(...page.data.map((d) => d.id));
        if (!page.has_more) break;
        after = `&after=${page.last_id}`;
      }
      expect(seen.length).toBe(3);
      expect(new Set(seen).size).toBe(3);
      expect(order === 'asc' ? seen[0] : seen[2]).toBe('msg_a');
    }
  });

  it('an empty list has null ids; a bad query is a 400 naming its parameter', () => {
    expect(pageInputItems('resp_abc', [], q(''))).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
    for (const [s, param] of [['limit=0', 'limit'], ['limit=101', 'limit'], ['limit=1.5', 'limit'], ['limit=', 'limit'], ['order=random', 'order'], [`after=${'x'.repeat(300)}`, 'after']]) {
      const err = (() => {
        try {
          q(s as string);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, s).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).param, s).toBe(param);
    }
    expect(() => pageInputItems('resp_abc', items, q('after=msg_zzz'))).toThrow(/no such item/);
  });
});
