/**
 * Attack on issue 16 (stored responses): the continuation's history is read from the store
 * BEFORE the pipeline runs (create-response.ts), so there is an await between the request's
 * arrival and `scope.runOperation`. A client that hangs up in that window (a slow database, a
 * long conversation) is recorded by the edge as a 499; then the operation runs anyway: the
 * upstream is called for nobody (tokens paid, spend charged) and the pipeline records a second
 * outcome for the same request.
 *
 * FINDING (medium; fixed in request-scope.ts): runOperation ran for a request whose client had
 * already gone and whose outcome was already recorded. Measured before the fix: 1 upstream call
 * and 2 recorded outcomes (499 client_disconnect, then 200 success) for one abandoned request.
 *
 * The same window after the answer: a JSON answer waits for its save (up to
 * responses.saveTimeoutMs) before it is written. A client gone meanwhile was recorded as a
 * `200 success` (the write to the closed socket is silent), where a client gone before any other
 * answer is a 499 client_disconnect.
 * FINDING (low; fixed in storing-reply.ts): measured before the fix, outcome "200 success" for a
 * client that left 200 ms into a 600 ms save. A stream cancelled before response.completed is not
 * stored (GET 404) and is recorded as a client_disconnect: that part held.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestFinishedEvent } from '../../src/observability/events.js';
import type { ResponseStore } from '../../src/responses/response-store.js';
import { chat, deploymentFor, dispatcherOption, get, KEY, startHarness, waitUntil, type Harness } from '../helpers/harness.js';

type Json = Record<string, any>;

/** A store whose conversation() waits `delay.ms` first: the window a slow database opens. */
function slowHistory(inner: ResponseStore, delay: { ms: number; saveMs?: number }): ResponseStore {
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop === 'conversation') {
        return async (...args: Parameters<ResponseStore['conversation']>) => {
          await new Promise((r) => setTimeout(r, delay.ms));
          return target.conversation(...args);
        };
      }
      if (prop === 'save') {
        return async (turn: Parameters<ResponseStore['save']>[0]) => {
          await new Promise((r) => setTimeout(r, delay.saveMs ?? 0));
          return target.save(turn);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Sends a /v1/responses request and hangs up `afterMs` later; resolves with what was received (if anything). */
async function abandoned(h: Harness, body: Json, afterMs: number, path = '/v1/responses'): Promise<string> {
  const abort = new AbortController();
  let text = '';
  const pending = request(`${h.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: abort.signal,
    ...dispatcherOption(h.url),
  })
    .then(async (res) => {
      for await (const piece of res.body) text += String(piece);
    })
    .catch(() => undefined);
  await new Promise((r) => setTimeout(r, afterMs));
  abort.abort();
  await pending;
  return text;
}

describe('a client that hangs up while its conversation is being loaded', () => {
  let h: Harness;
  const delay: { ms: number; saveMs?: number } = { ms: 0 };
  const finished: RequestFinishedEvent[] = [];
  beforeAll(async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'Paris.', chunks: 10 } }],
      config: (f) => ({ deployments: { o: deploymentFor(f[0]!) }, models: { oa: { targets: [{ deployment: 'o', model: 'up' }] } } }),
      responseStore: (s) => slowHistory(s, delay),
      eventSinks: [{ requestFinished: (e) => finished.push(e) }],
    });
  }, 30_000);
  afterAll(() => h?.close());

  it.each([false, true])('stream %s: no upstream call, and exactly one recorded outcome (499)', async (stream) => {
    const first = await chat(h.url, { model: 'oa', input: 'Capital of France?' }, { path: '/v1/responses' });
    expect(first.status).toBe(200);
    const prev = (first.json() as Json).id as string;
    delay.ms = 400;
    const calls = h.fakes[0]!.stats.requests;
    const before = finished.length;
    // Gone while the history is read.
    await abandoned(h, { model: 'oa', input: 'And Spain?', previous_response_id: prev, stream }, 100);
    // Past the load and any upstream exchange it would start.
    await new Promise((r) => setTimeout(r, 900));
    delay.ms = 0;
    await waitUntil(() => finished.length > before, 2_000);
    expect(h.fakes[0]!.stats.requests - calls, 'upstream calls for a client that was gone').toBe(0);
    const outcomes = finished.slice(before).map((e) => `${e.status} ${e.outcome}`);
    expect(outcomes).toEqual(['499 client_disconnect']);
  });

  it('a count of a continued conversation (/v1/responses/input_tokens): exactly one recorded outcome (499)', async () => {
    const first = await chat(h.url, { model: 'oa', input: 'Capital of Italy?' }, { path: '/v1/responses' });
    const prev = (first.json() as Json).id as string;
    delay.ms = 400;
    const before = finished.length;
    await abandoned(h, { model: 'oa', input: 'And Spain?', previous_response_id: prev }, 100, '/v1/responses/input_tokens');
    await new Promise((r) => setTimeout(r, 700));
    delay.ms = 0;
    await waitUntil(() => finished.length > before, 2_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(finished.slice(before).map((e) => `${e.status} ${e.outcome}`)).toEqual(['499 client_disconnect']);
  });

  it('a JSON answer whose client left during the save is a 499 client_disconnect, not a success', async () => {
    delay.saveMs = 600;
    try {
      const before = finished.length;
      await abandoned(h, { model: 'oa', input: 'Save me slowly.' }, 200);
      await waitUntil(() => finished.length > before, 3_000);
      await new Promise((r) => setTimeout(r, 100));
      expect(finished.slice(before).map((e) => `${e.status} ${e.outcome}`)).toEqual(['499 client_disconnect']);
    } finally {
      delay.saveMs = 0;
    }
  });

  it('a stream cancelled before response.completed is not stored, and is one client_disconnect', async () => {
    h.fakes[0]!.setBehaviour({ chunkIntervalMs: 100 });
    try {
      const before = finished.length;
      const text = await abandoned(h, { model: 'oa', input: 'Stream, then leave.', stream: true }, 400);
      const id = /"id":"(resp_[0-9a-f]+)"/.exec(text)?.[1];
      // The stream had begun (its id was seen) and had not ended.
      expect(id).toBeDefined();
      expect(text).not.toContain('response.completed');
      await waitUntil(() => finished.length > before, 3_000);
      expect(finished.slice(before).map((e) => e.outcome)).toEqual(['client_disconnect']);
      expect((await get(h.url, `/v1/responses/${id}`)).status).toBe(404);
    } finally {
      h.fakes[0]!.setBehaviour({ chunkIntervalMs: 0 });
    }
  });
});
