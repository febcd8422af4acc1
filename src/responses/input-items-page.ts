import type { ResponseItem } from '../api/responses-types.js';
import { GatewayError } from '../errors/gateway-error.js';

/** OpenAI's default and largest page of input items. */
export const INPUT_ITEMS_PAGE_DEFAULT = 20;
export const INPUT_ITEMS_PAGE_MAX = 100;
/** The longest `after` accepted: an item id longer than this is listed under a positional one. */
const MAX_AFTER_CHARS = 256;

export interface InputItemsQuery {
  readonly limit: number;
  readonly order: 'asc' | 'desc';
  readonly after: string | undefined;
}

/** `limit` (1–100, default 20), `order` (`asc`|`desc`, default `desc`) and `after` of a list; bad values are a 400 naming the parameter. */
export function inputItemsQuery(query: URLSearchParams): InputItemsQuery {
  const rawLimit = query.get('limit');
  let limit = INPUT_ITEMS_PAGE_DEFAULT;
  if (rawLimit !== null) {
    limit = Number(rawLimit);
    if (rawLimit.trim() === '' || !Number.isInteger(limit) || limit < 1 || limit > INPUT_ITEMS_PAGE_MAX) {
      throw new GatewayError('invalid_request', `limit must be an integer from 1 to ${INPUT_ITEMS_PAGE_MAX}.`, { param: 'limit' });
    }
  }
  const order = query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new GatewayError('invalid_request', 'order must be "asc" or "desc".', { param: 'order' });
  const after = query.get('after') ?? undefined;
  if (after !== undefined && (after.length === 0 || after.length > MAX_AFTER_CHARS)) throw new GatewayError('invalid_request', 'after must be an item id from the previous page.', { param: 'after' });
  return { limit, order, after };
}

/**
 * The id an item is listed under: its own when it has one that can page (unique in this listing,
 * short enough to come back as `after`), else one made from the response id and its place, so
 * paging by `after` works for inputs the client sent without ids, or with repeated or very long
 * ones (a repeated id would send `after` back to its first item for ever). The stored items are
 * left as sent (a continuation sends them upstream unchanged).
 */
export function listedId(responseId: string, item: ResponseItem, index: number, taken?: ReadonlySet<string>): string {
  if (typeof item.id === 'string' && item.id !== '' && item.id.length <= MAX_AFTER_CHARS && !taken?.has(item.id)) return item.id;
  const prefix = item.type === 'message' ? 'msg' : 'item';
  return `${prefix}_${responseId.replace(/^resp_/, '')}_${index}`;
}

/** One page of OpenAI's list shape over a response's input items. An unknown `after` is a 400. */
export function pageInputItems(responseId: string, items: readonly ResponseItem[], q: InputItemsQuery): { object: 'list'; data: Array<ResponseItem & { id: string }>; first_id: string | null; last_id: string | null; has_more: boolean } {
  const taken = new Set<string>();
  const listed = items.map((item, i) => {
    const id = listedId(responseId, item, i, taken);
    taken.add(id);
    return { ...item, id };
  });
  if (q.order === 'desc') listed.reverse();
  let start = 0;
  if (q.after !== undefined) {
    const at = listed.findIndex((item) => item.id === q.after);
    if (at === -1) throw new GatewayError('invalid_request', 'after: no such item in this response (it must be an id from the previous page).', { param: 'after' });
    start = at + 1;
  }
  const data = listed.slice(start, start + q.limit);
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + q.limit < listed.length };
}
