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
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestFinishedEvent } from '../../src/observability/events.js';
import type { ResponseStore } from '../../src/responses/response-store.js';
import { chat, deploymentFor, dispatcherOption, KEY, startHarness, waitUntil, type Harness } from '../helpers/harness.js';

type Json = Record<string, any>;

/** A store whose conversation() waits `delay.ms` first: the window a slow database opens. */
function slowHistory(inner: ResponseStore, delay: { ms: number }): ResponseStore {
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop !== 'conversation') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: Parameters<ResponseStore['conversation']>) => {
        await new Promise((r) => setTimeout(r, delay.ms));
        return target.conversation(...args);
      };
    },
  });
}

describe('a client that hangs up while its conversation is being loaded', () => {
  let h: Harness;
  const delay = { ms: 0 };
  const finished: RequestFinishedEvent[] = [];
  beforeAll(async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'Paris.' } }],
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
    const abort = new AbortController();
    const pending = request(`${h.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'oa', input: 'And Spain?', previous_response_id: prev, stream }),
      signal: abort.signal,
      ...dispatcherOption(h.url),
    }).catch((err: unknown) => err);
    // Gone while the history is read.
    await new Promise((r) => setTimeout(r, 100));
    abort.abort();
    await pending;
    // Past the load and any upstream exchange it would start.
    await new Promise((r) => setTimeout(r, 900));
    delay.ms = 0;
    await waitUntil(() => finished.length > before, 2_000);
    expect(h.fakes[0]!.stats.requests - calls, 'upstream calls for a client that was gone').toBe(0);
    const outcomes = finished.slice(before).map((e) => `${e.status} ${e.outcome}`);
    expect(outcomes).toEqual(['499 client_disconnect']);
  });
});
