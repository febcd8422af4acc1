import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, sharedPostgresAvailable } from '../../test/helpers/postgres.js';
import type { ResponseItem, ResponseObject } from '../api/responses-types.js';
import { openStore } from '../control/store/open-store.js';
import type { ControlStore } from '../control/store/store.js';
import { MemoryResponseStore } from './memory-store.js';
import { DAY_MS, type ChainSize, type ResponseStore } from './response-store.js';
import { SqlResponseStore } from './sql-store.js';

const pgAvailable = await sharedPostgresAvailable();
const limits = { maxTurns: 2048, maxItems: 2048, maxBytes: 10 * 1024 * 1024 };
const storeSettings = { dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 };

let wall = 1_800_000_000_000;
const wallMs = (): number => wall;

let seq = 0;
function newId(): string {
  return `resp_${(++seq).toString(16).padStart(8, '0')}${Math.random().toString(16).slice(2, 10)}`;
}

const user = (text: string): ResponseItem => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
const assistant = (text: string): ResponseItem => ({ type: 'message', id: `msg_${text}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] });

function responseOf(id: string, output: ResponseItem[]): ResponseObject {
  return { id, object: 'response', created_at: Math.floor(wall / 1000), status: 'completed', model: 'm', output };
}

/** Saves one turn continuing `prev` (its chain as `conversation` gave it); returns its id and chain. */
async function turn(store: ResponseStore, team: string, input: string, prev?: { id: string; chain: ChainSize }): Promise<{ id: string; chain: ChainSize }> {
  const id = newId();
  const inputItems = [user(input)];
  await store.save({ id, team, createdBy: 'key_1', model: 'm', previousResponseId: prev?.id, inputItems, response: responseOf(id, [assistant(`re-${input}`)]), chain: prev?.chain });
  const loaded = await store.conversation(team, id, limits);
  if (loaded.kind !== 'found') throw new Error(`turn ${id} not found after save: ${loaded.kind}`);
  return { id, chain: loaded.size };
}

const texts = (items: readonly ResponseItem[]): string[] => items.map((i) => ((i.content as Array<{ text: string }>)[0]?.text ?? '?'));

// The same suite against every implementation: the memory store, and the SQL one on both drivers.
describe.each([
  ['memory', 'memory'],
  ['sql on embedded PGlite', 'embedded'],
  ['sql on a postgres server', 'postgres'],
] as const)('response store: %s', (_label, variant) => {
  let store: ResponseStore;
  let control: ControlStore | undefined;
  let drop: (() => Promise<void>) | undefined;
  const skip = variant === 'postgres' && !pgAvailable;

  beforeAll(async () => {
    if (skip) return;
    if (variant === 'memory') {
      store = new MemoryResponseStore({ retentionDays: 30, maxResponses: 10_000, maxBytes: 64 * 1024 * 1024, wallMs });
      return;
    }
    const url = variant === 'postgres' ? await createTestDatabase('responses').then((d) => ((drop = d.drop), d.url)) : undefined;
    ({ store: control } = await openStore({ ...storeSettings, url }, () => undefined));
    const db = control.db;
    store = new SqlResponseStore({ db: () => db, retentionDays: 30, wallMs });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await control?.close();
    await drop?.();
  });

  it.skipIf(skip)('keeps a response: get returns it as saved; its input items as sent', async () => {
    const { id } = await turn(store, 'a', 'hello');
    const got = await store.get('a', id);
    expect(got).toEqual(responseOf(id, [assistant('re-hello')]));
    expect(await store.inputItems('a', id)).toEqual([user('hello')]);
  });

  it.skipIf(skip)('a conversation of three turns expands to every input then output, oldest first', async () => {
    const t1 = await turn(store, 'a', 'one');
    const t2 = await turn(store, 'a', 'two', t1);
    const t3 = await turn(store, 'a', 'three', t2);
    const loaded = await store.conversation('a', t3.id, limits);
    expect(loaded.kind).toBe('found');
    if (loaded.kind !== 'found') return;
    expect(texts(loaded.items)).toEqual(['one', 're-one', 'two', 're-two', 'three', 're-three']);
    expect(loaded.size.turns).toBe(3);
    expect(loaded.size.items).toBe(6);
    // A branch from the middle sees only its own past.
    const branch = await store.conversation('a', t2.id, limits);
    expect(branch.kind === 'found' && texts(branch.items)).toEqual(['one', 're-one', 'two', 're-two']);
  });

  it.skipIf(skip)("another team's response is absent everywhere: get, input items, conversation, delete", async () => {
    const { id } = await turn(store, 'a', 'secret');
    expect(await store.get('b', id)).toBeUndefined();
    expect(await store.inputItems('b', id)).toBeUndefined();
    expect(await store.conversation('b', id, limits)).toEqual({ kind: 'missing', earlier: false });
    expect(await store.delete('b', id)).toBe(false);
    expect(await store.get('a', id)).toBeDefined();
  });

  it.skipIf(skip)('delete removes one response; a conversation through it can no longer be expanded', async () => {
    const t1 = await turn(store, 'a', 'first');
    const t2 = await turn(store, 'a', 'second', t1);
    expect(await store.delete('a', t1.id)).toBe(true);
    expect(await store.delete('a', t1.id)).toBe(false);
    expect(await store.get('a', t1.id)).toBeUndefined();
    expect(await store.get('a', t2.id)).toBeDefined();
    expect(await store.conversation('a', t2.id, limits)).toEqual({ kind: 'missing', earlier: true });
  });

  it.skipIf(skip)('a response is gone once its retention has passed, and purgeExpired deletes it', async () => {
    const { id } = await turn(store, 'a', 'old');
    wall += 30 * DAY_MS - 1_000;
    expect(await store.get('a', id)).toBeDefined();
    wall += 2_000;
    try {
      expect(await store.get('a', id)).toBeUndefined();
      expect(await store.conversation('a', id, limits)).toEqual({ kind: 'missing', earlier: false });
      expect(await store.purgeExpired()).toBeGreaterThanOrEqual(1);
    } finally {
      // Later tests save responses at this time: everything before it is expired now (and purged).
      await store.purgeExpired();
    }
  });

  it.skipIf(skip)('a conversation larger than one request may carry is refused from its counters, without reading it', async () => {
    let prev = await turn(store, 'a', 'x'.repeat(1_000));
    for (let i = 0; i < 9; i++) prev = await turn(store, 'a', 'x'.repeat(1_000), prev);
    expect(prev.chain.turns).toBe(10);
    expect(prev.chain.items).toBe(20);
    const byItems = await store.conversation('a', prev.id, { ...limits, maxItems: 19 });
    expect(byItems).toEqual({ kind: 'too_large', size: prev.chain });
    const byTurns = await store.conversation('a', prev.id, { ...limits, maxTurns: 9 });
    expect(byTurns).toEqual({ kind: 'too_large', size: prev.chain });
    const byBytes = await store.conversation('a', prev.id, { ...limits, maxBytes: 5_000 });
    expect(byBytes.kind).toBe('too_large');
    expect((await store.conversation('a', prev.id, limits)).kind).toBe('found');
  });
});

describe('memory response store: bounds', () => {
  it('evicts the oldest responses past its count and byte bounds', async () => {
    const store = new MemoryResponseStore({ retentionDays: 30, maxResponses: 3, maxBytes: 64 * 1024 * 1024, wallMs });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await turn(store, 'a', `n${i}`)).id);
    expect(store.size).toBe(3);
    expect(await store.get('a', ids[0]!)).toBeUndefined();
    expect(await store.get('a', ids[1]!)).toBeUndefined();
    expect(await store.get('a', ids[4]!)).toBeDefined();

    const small = new MemoryResponseStore({ retentionDays: 30, maxResponses: 1_000, maxBytes: 4_000, wallMs });
    for (let i = 0; i < 20; i++) await turn(small, 'a', 'y'.repeat(300));
    expect(small.bytes).toBeLessThanOrEqual(4_000);
    expect(small.size).toBeLessThan(20);
    // One response larger than the whole store is refused, not kept past the bound.
    await expect(small.save({ id: newId(), team: 'a', createdBy: 'k', model: 'm', previousResponseId: undefined, inputItems: [user('z'.repeat(5_000))], response: responseOf('r', []), chain: undefined })).rejects.toThrow(/larger than the memory store/);
    expect(small.bytes).toBeLessThanOrEqual(4_000);
  });

  it('what was saved does not change when the caller changes its objects', async () => {
    const store = new MemoryResponseStore({ retentionDays: 30, maxResponses: 10, maxBytes: 1_000_000, wallMs });
    const id = newId();
    const response = responseOf(id, [assistant('a')]);
    await store.save({ id, team: 'a', createdBy: 'k', model: 'm', previousResponseId: undefined, inputItems: [user('q')], response, chain: undefined });
    response.status = 'failed';
    expect((await store.get('a', id))?.status).toBe('completed');
  });
});
