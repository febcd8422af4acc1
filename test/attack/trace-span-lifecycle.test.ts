/**
 * Attack: exactly one server span per request whatever its outcome, every attempt's client span
 * ended and exported (a span never ended is never exported: the count of client spans under a
 * server span must equal its `gateway.attempts`), error.type and status on failures.
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY, chat, chatBody, dispatcherOption, pollUntil, startHarness, type Harness } from '../helpers/harness.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

const LIMITED_KEY = 'sk-test-limited-0123456789';

async function setup(): Promise<{ h: Harness; rcv: OtlpReceiver }> {
  const rcv = await startOtlpReceiver();
  open.push(rcv);
  const h = await startHarness({
    fakes: [{ dialect: 'openai', behaviour: { reply: 'ok' } }, { dialect: 'openai', behaviour: { reply: 'ok' } }],
    config: ([a, b]) => ({
      tracing: { enabled: true, endpoint: rcv.url, protocol: 'http/json', scheduledDelayMs: 20 },
      timeouts: { connectMs: 1_000, firstByteMs: 400, idleMs: 400, totalMs: 1_500 },
      tenants: { limited: { keys: [LIMITED_KEY], models: ['*'], limits: { requests: { capacity: 1, refillPerSecond: 0.001 } } } },
      deployments: { d1: { provider: 'openai', baseUrl: a!.baseUrl }, d2: { provider: 'openai', baseUrl: b!.baseUrl } },
      models: { chat: { targets: [{ deployment: 'd1', model: 'gpt-4o-mini' }], fallbacks: ['backup'] }, backup: { targets: [{ deployment: 'd2', model: 'gpt-4o' }] }, solo: { targets: [{ deployment: 'd2', model: 'gpt-4o' }] } },
    }),
  });
  open.unshift(h);
  return { h, rcv };
}

const tag = (id: string) => ({ 'x-request-id': id });

/** A stream request the client abandons after its first bytes. */
async function abandonStream(h: Harness, id: string): Promise<void> {
  const ac = new AbortController();
  const res = await request(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...tag(id) },
    body: JSON.stringify(chatBody('solo', { stream: true })),
    signal: ac.signal,
    ...dispatcherOption(h.url),
  });
  const it = res.body[Symbol.asyncIterator]();
  await it.next();
  ac.abort();
  await it.return?.().catch(() => undefined);
}

describe('every outcome: one server span, every attempt span ended', () => {
  it('auth refusal, bad body, unknown model, rate limited, retry + fallback, deadline, stream reset, client gone mid-stream, stream success', async () => {
    const { h, rcv } = await setup();
    const [f1, f2] = h.fakes;
    const statuses: Record<string, number> = {};
    statuses.auth = (await chat(h.url, chatBody('chat'), { key: 'sk-wrong-0000000000000', headers: tag('auth') })).status;
    statuses.badbody = (await chat(h.url, { model: 'chat', messages: 'not a list' }, { headers: tag('badbody') })).status;
    // Not JSON at all: refused at the edge, before the flow (documented: no span).
    expect((await chat(h.url, '{"model":"chat","messages":', { headers: tag('notjson') })).status).toBe(400);
    statuses.unknown = (await chat(h.url, chatBody('nope'), { headers: tag('unknown') })).status;
    statuses.limited1 = (await chat(h.url, chatBody('solo'), { key: LIMITED_KEY, headers: tag('limited1') })).status;
    statuses.limited2 = (await chat(h.url, chatBody('solo'), { key: LIMITED_KEY, headers: tag('limited2') })).status;
    f1!.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    statuses.fallback = (await chat(h.url, chatBody('chat'), { headers: tag('fallback') })).status;
    f2!.enqueue({ kind: 'reset-mid-stream', afterChunks: 3 });
    statuses.reset = (await chat(h.url, chatBody('solo', { stream: true }), { headers: tag('reset') })).status;
    f2!.enqueue({ kind: 'stall', afterChunks: 2 });
    await abandonStream(h, 'gone');
    statuses.stream = (await chat(h.url, chatBody('solo', { stream: true }), { headers: tag('stream') })).status;
    // Last: the hangs left over by the deadline must not meet another request.
    f2!.enqueue({ kind: 'hang' }, { kind: 'hang' }, { kind: 'hang' }, { kind: 'hang' });
    statuses.deadline = (await chat(h.url, chatBody('solo'), { headers: tag('deadline') })).status;
    expect(statuses).toMatchObject({ auth: 401, badbody: 400, unknown: 404, limited1: 200, limited2: 429, fallback: 200, stream: 200, reset: 200 });
    const ids = Object.keys(statuses).concat('gone');
    const srvOf = (id: string): ReceivedSpan[] => rcv.spans.filter((s) => s.kind === 2 && (s.attributes['http.request.header.x-request-id'] as string[] | undefined)?.[0] === id);
    await pollUntil(() => ids.every((id) => srvOf(id).length >= 1), 5_000);
    await h.close();
    expect(ids.filter((id) => srvOf(id).length !== 1), 'requests without exactly one server span').toEqual([]);
    expect(srvOf('notjson')).toEqual([]);
    const summary: Record<string, unknown> = {};
    for (const id of ids) {
      const srv = srvOf(id);
      const attempts = srv.length === 1 ? rcv.spans.filter((s) => s.kind === 3 && s.parentSpanId === srv[0]!.spanId) : [];
      summary[id] = { servers: srv.length, attempts: attempts.length, declared: srv[0]?.attributes['gateway.attempts'], errorType: srv[0]?.attributes['error.type'] !== undefined };
      expect(srv, id).toHaveLength(1);
      expect(attempts.length, id).toBe(srv[0]!.attributes['gateway.attempts']);
      for (const a of attempts) expect(a.traceId, id).toBe(srv[0]!.traceId);
    }
    for (const id of ['auth', 'badbody', 'unknown', 'limited2', 'deadline', 'gone', 'reset']) expect(srvOf(id)[0]!.attributes['error.type'], id).toBeDefined();
    for (const id of ['deadline']) expect(srvOf(id)[0]!.statusCode, id).toBe(2);
    // Every client span exported hangs under an exported server span: none orphaned.
    const servers = new Set(rcv.spans.filter((s) => s.kind === 2).map((s) => s.spanId));
    expect(rcv.spans.filter((s) => s.kind === 3 && !servers.has(s.parentSpanId))).toEqual([]);
  }, 60_000);
});
