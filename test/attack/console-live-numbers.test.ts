/**
 * The live numbers against the request log, over real sockets: a request retried twice is one
 * request (one outcome) and three attempts; streams count once, with their latency; refused and
 * unknown-model requests count once each under "unknown" or their alias; the ticks' costs add up
 * to the request log's exact costs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, openStream, startAdminHarness, type SseEvent } from '../helpers/admin.js';
import { chat, chatBody, type Harness } from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startAdminHarness(['priced'], {
    models: { priced: { targets: [{ deployment: 'd', model: 'up', price: { input: 1.5, output: 2.25 } }] } },
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    requestLog: { flushMs: 100 },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const data = (e: SseEvent): any => JSON.parse(e.data ?? 'null');

describe('live ticks add up', () => {
  it('one outcome per request, attempts per deployment, costs equal to the request log', async () => {
    const s = await openStream(h.url);
    try {
      await s.next((e) => e.event === 'history');
      // Start counting at a tick boundary: everything below ends in later ticks.
      await s.next((e) => e.event === 'tick');
      const ids: string[] = [];
      const send = async (body: unknown, status: number): Promise<void> => {
        const r = await chat(h.url, body);
        expect(r.status, r.text).toBe(status);
        const id = r.headers['x-gateway-request-id'];
        if (typeof id === 'string') ids.push(id);
      };
      h.fakes[0]!.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
      await send(chatBody('priced'), 200); // 3 attempts
      await send(chatBody('priced'), 200);
      await send(chatBody('priced', { stream: true }), 200);
      await send(chatBody('priced', { stream: true }), 200);
      await send(chatBody('made-up-by-a-client'), 404);
      await send({ model: 'priced', messages: 'not an array' }, 400);
      let requests = 0;
      let outcomes = 0;
      let modelRequests = 0;
      let attempts = 0;
      let cost = 0;
      const names = new Set<string>();
      const end = Date.now() + 10_000;
      while ((requests < 6 || attempts < 6) && Date.now() < end) {
        const tick = data(await s.next((e) => e.event === 'tick'));
        requests += tick.requests;
        outcomes += Object.values(tick.outcomes as Record<string, number>).reduce((a, b) => a + b, 0);
        for (const [name, m] of Object.entries(tick.models as Record<string, { requests: number }>)) {
          names.add(name);
          modelRequests += m.requests;
        }
        attempts += tick.deployments.d?.attempts ?? 0;
        cost += tick.costUsd;
      }
      // Two more seconds: nothing is counted late, or twice.
      for (let i = 0; i < 2; i++) {
        const tick = data(await s.next((e) => e.event === 'tick'));
        requests += tick.requests;
        attempts += tick.deployments.d?.attempts ?? 0;
      }
      expect(requests).toBe(6);
      expect(outcomes).toBe(6);
      expect(modelRequests).toBe(6);
      expect(attempts).toBe(6);
      expect([...names].sort()).toEqual(['priced', 'unknown']);
      // The request log's exact costs.
      let logged = 0;
      for (const id of ids) {
        const until = Date.now() + 5_000;
        let row: any;
        while (Date.now() < until) {
          const r = await admin(h.url, 'GET', `/requests/${id}`);
          if (r.status === 200) {
            row = r.body;
            break;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(row, id).toBeDefined();
        if (row.cost_usd !== null) logged += Number(row.cost_usd);
      }
      expect(logged).toBeGreaterThan(0);
      expect(Math.abs(cost - logged)).toBeLessThan(1e-8);
    } finally {
      s.close();
    }
  }, 40_000);
});
