/**
 * Attack on issue 16 (stored responses): two gateways on one PostgreSQL database (a fresh
 * database on the machine's server for this file), as replicas behind a load balancer run.
 * A turn stored on one is continued on the other; one deleted on one is gone for the other; a
 * conversation built alternately on both carries every turn, oldest first; two continuations of
 * the same turn at once (one on each replica) fork it into two chains; a DELETE that lands while
 * a continuation is in flight leaves that answer delivered and stored, and the turn after it
 * refused with the "earlier response deleted" message, not served with a hole in its history.
 *
 * Nothing found: kept as a regression test (≈ 3 s).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import { createTestDatabase, sharedPostgresAvailable } from '../helpers/postgres.js';
import { chat, deploymentFor, dispatcherOption, get, KEY, startHarness, type Harness, type HttpResult } from '../helpers/harness.js';

const available = await sharedPostgresAvailable();
const OTHER_KEY = 'sk-test-other-0123456789';

type Json = Record<string, any>;

describe.skipIf(!available)('stored responses on two replicas sharing one PostgreSQL', () => {
  let fake: FakeUpstream;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let r1: Harness;
  let r2: Harness;

  beforeAll(async () => {
    database = await createTestDatabase('responses_replicas');
    fake = await FakeUpstream.start({ dialect: 'openai' });
    const config = (): Json => ({
      deployments: { o: deploymentFor(fake) },
      models: { oa: { targets: [{ deployment: 'o', model: 'up' }] } },
      tenants: { main: { keys: [KEY], models: ['*'] }, other: { keys: [OTHER_KEY], models: ['*'] } },
      state: { database: { url: '${env:RESPONSES_DB_URL}' } },
    });
    const env = { RESPONSES_DB_URL: database.url };
    // One first (it migrates), then the other.
    r1 = await startHarness({ env, config });
    r2 = await startHarness({ env, config });
  }, 60_000);
  afterAll(async () => {
    await r1?.close();
    await r2?.close();
    await fake?.close();
    await database?.drop();
  });

  const create = (h: Harness, body: Json, key = KEY): Promise<HttpResult> => chat(h.url, { model: 'oa', ...body }, { path: '/v1/responses', key });
  const del = async (h: Harness, id: string): Promise<number> => {
    const res = await request(`${h.url}/v1/responses/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` }, ...dispatcherOption(h.url) });
    await res.body.text();
    return res.statusCode;
  };
  /** The user texts of the last upstream request (the expanded history, then this turn's input). */
  const sentUserTexts = (): string[] => ((fake.received.at(-1)!.body as Json).messages as Json[]).filter((m) => m.role === 'user').map((m) => (typeof m.content === 'string' ? m.content : m.content.map((p: Json) => p.text).join('')));

  it('a conversation built alternately on both replicas carries every turn, oldest first; each reads the other\'s turns', async () => {
    let prev: string | undefined;
    const ids: string[] = [];
    for (let turn = 0; turn < 6; turn++) {
      const on = turn % 2 === 0 ? r1 : r2;
      const res = await create(on, { input: `turn ${turn}`, ...(prev ? { previous_response_id: prev } : {}) });
      expect(res.status, res.text).toBe(200);
      expect(res.headers['x-gateway-response-stored']).toBeUndefined();
      prev = res.json().id as string;
      ids.push(prev);
      expect(sentUserTexts()).toEqual(Array.from({ length: turn + 1 }, (_, i) => `turn ${i}`));
      // Stored before the answer: the other replica has it at once.
      const other = on === r1 ? r2 : r1;
      expect((await get(other.url, `/v1/responses/${prev}`)).json().id).toBe(prev);
    }
    // Another team sees none of it on either replica.
    for (const h of [r1, r2]) {
      expect((await get(h.url, `/v1/responses/${ids[0]}`, OTHER_KEY)).status).toBe(404);
      expect((await create(h, { input: 'mine now', previous_response_id: ids[5] }, OTHER_KEY)).json().error.code).toBe('previous_response_not_found');
    }
  });

  it('deleted on one replica: the other finds nothing, and the turn after it cannot be continued', async () => {
    const a = (await create(r1, { input: 'A' })).json().id as string;
    const b = (await create(r2, { input: 'B', previous_response_id: a })).json().id as string;
    expect(await del(r1, a)).toBe(200);
    expect((await get(r2.url, `/v1/responses/${a}`)).status).toBe(404);
    expect(await del(r2, a)).toBe(404);
    const calls = fake.stats.requests;
    const next = await create(r2, { input: 'C', previous_response_id: a });
    expect(next.json().error).toMatchObject({ code: 'previous_response_not_found', param: 'previous_response_id' });
    const after = await create(r2, { input: 'C', previous_response_id: b });
    expect(after.status).toBe(400);
    expect(after.json().error.message).toMatch(/an earlier response of its conversation was deleted/);
    expect(fake.stats.requests).toBe(calls);
  });

  it('two continuations of one turn at once, one per replica: a fork, each its own chain', async () => {
    const root = (await create(r1, { input: 'root' })).json().id as string;
    const [left, right] = await Promise.all([create(r1, { input: 'left', previous_response_id: root }), create(r2, { input: 'right', previous_response_id: root })]);
    expect([left.status, right.status]).toEqual([200, 200]);
    const l = left.json().id as string;
    const r = right.json().id as string;
    expect(l).not.toBe(r);
    await create(r2, { input: 'left again', previous_response_id: l });
    expect(sentUserTexts()).toEqual(['root', 'left', 'left again']);
    await create(r1, { input: 'right again', previous_response_id: r });
    expect(sentUserTexts()).toEqual(['root', 'right', 'right again']);
  });

  it('a DELETE while a continuation is in flight: the answer is delivered and stored; the turn after it is refused, not served with a hole', async () => {
    const a = (await create(r1, { input: 'first' })).json().id as string;
    fake.setBehaviour({ latencyMs: 400 });
    try {
      const pending = create(r1, { input: 'second', previous_response_id: a });
      await new Promise((res) => setTimeout(res, 150));
      expect(await del(r2, a)).toBe(200);
      const second = await pending;
      expect(second.status).toBe(200);
      const b = second.json().id as string;
      expect((await get(r2.url, `/v1/responses/${b}`)).status).toBe(200);
      const third = await create(r2, { input: 'third', previous_response_id: b });
      expect(third.status).toBe(400);
      expect(third.json().error).toMatchObject({ code: 'previous_response_not_found', param: 'previous_response_id' });
    } finally {
      fake.setBehaviour({ latencyMs: 0 });
    }
  });
});
