/**
 * Issue 13: a request's attempts as the request log keeps them (the console's timeline), end to
 * end: a retry then a fallback is three entries saying what the gateway did after each attempt
 * and why, with the upstream's status; the trace id field is there (null without tracing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, ADMIN_KEY } from './helpers/admin.js';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from './helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    fakes: [{ dialect: 'openai' }, { dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
    config: (f) => ({
      deployments: { a: deploymentFor(f[0]!), b: deploymentFor(f[1]!) },
      models: { primary: { targets: [{ deployment: 'a', model: 'm' }], fallbacks: ['backup'] }, backup: { targets: [{ deployment: 'b', model: 'm' }] } },
      retry: { maxAttempts: 2 },
      admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      state: { database: { dataDir: ':memory:' } },
      requestLog: { flushMs: 100 },
    }),
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function detail(id: string): Promise<any> {
  const until = Date.now() + 10_000;
  for (;;) {
    const res = await admin(h.url, 'GET', `/requests/${id}`);
    if (res.status === 200) return res.body;
    if (Date.now() > until) throw new Error(`request ${id} not in the log: ${res.status} ${res.text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the attempt log of a request', () => {
  it('a retry then a fallback: three entries, each saying what came next and why', async () => {
    h.fakes[0]!.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const res = await chat(h.url, chatBody('primary', { stream: true }));
    expect(res.status).toBe(200);
    const id = res.headers['x-gateway-request-id']!;
    const body = await detail(id);
    expect(body.attemptLog).toEqual([
      { n: 1, alias: 'primary', deployment: 'a', startMs: expect.any(Number), durationMs: expect.any(Number), outcome: 'server_error', status: 500, ttftMs: null, next: 'retry', reason: 'server_error' },
      { n: 2, alias: 'primary', deployment: 'a', startMs: expect.any(Number), durationMs: expect.any(Number), outcome: 'server_error', status: 503, ttftMs: null, next: 'fallback', reason: 'server_error' },
      { n: 3, alias: 'backup', deployment: 'b', startMs: expect.any(Number), durationMs: expect.any(Number), outcome: 'success', status: 200, ttftMs: expect.any(Number), next: null, reason: null },
    ]);
    const [first, second, third] = body.attemptLog;
    expect(second.startMs).toBeGreaterThanOrEqual(first.startMs + first.durationMs);
    expect(third.startMs).toBeGreaterThanOrEqual(second.startMs + second.durationMs);
    expect(body).toMatchObject({ attempts: 3, servedModel: 'backup', deployment: 'b', traceId: null });
    const list = await admin(h.url, 'GET', '/requests?limit=10');
    expect(list.body.data.find((r: { id: string }) => r.id === id)).toMatchObject({ traceId: null });
  });

  it('a request served at once has one entry; a request refused before any attempt has none', async () => {
    const ok = await chat(h.url, chatBody('backup'));
    expect((await detail(ok.headers['x-gateway-request-id']!)).attemptLog).toEqual([
      { n: 1, alias: 'backup', deployment: 'b', startMs: expect.any(Number), durationMs: expect.any(Number), outcome: 'success', status: 200, ttftMs: null, next: null, reason: null },
    ]);
    const refused = await chat(h.url, chatBody('no-such-model'));
    expect((await detail(refused.headers['x-gateway-request-id']!)).attemptLog).toEqual([]);
  });
});
