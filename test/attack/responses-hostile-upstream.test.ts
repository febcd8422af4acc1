/**
 * Attack on `POST /v1/responses` with a broken or hostile upstream, over real sockets (issue 16).
 * Found: a native answer nested 20,000 levels deep parsed fine (JSON.parse is iterative) and then
 * overflowed the stack in JSON.stringify: a 500 internal_error (JSON) or an internal_error event
 * (stream), counted as a gateway bug; and a native stream's events kept the upstream's
 * `sequence_number`s (missing, repeated, out of order, a string), so the gateway's own error
 * event after an unnumbered stream was numbered 0; a native usage carrying its own `cost_usd`
 * ("0.000000") reached the client beside our `x-gateway-cost-usd: 0.002`, and as if it were our
 * price on an unpriced target. Kept as regressions: 1,500 parallel chat tool
 * calls end in one numbered error event after 1,024 items; every request has exactly one outcome.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import { chat, deploymentFor, parseMetrics, startHarness, type Harness } from '../helpers/harness.js';
import { responsesEvents } from '../helpers/responses-sse.js';

type Json = Record<string, any>;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const event = (e: Json): string => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`;
const response = (extra: Json = {}): Json => ({ id: 'resp_upstream', object: 'response', created_at: 1, status: 'in_progress', model: 'x', output: [], ...extra });
const usage = { input_tokens: 5, output_tokens: 2, total_tokens: 7 };
const item = { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'hi', annotations: [] }] };
const DEPTH = 20_000;
/** `json` with its `"DEEP"` string replaced by an array nested DEPTH levels (built as text: building it as a value would overflow here). */
const deepened = (json: string): string => json.replace('"DEEP"', '['.repeat(DEPTH) + ']'.repeat(DEPTH));

async function start(): Promise<{ harness: Harness; native: FakeUpstream; chatFake: FakeUpstream }> {
  h = await startHarness({
    fakes: [{ dialect: 'openai' }, { dialect: 'openai' }],
    config: (f) => ({
      retry: { maxAttempts: 1 },
      deployments: { n: deploymentFor(f[0] as FakeUpstream, { responsesApi: true }), c: deploymentFor(f[1] as FakeUpstream) },
      models: { native: { targets: [{ deployment: 'n', model: 'x' }] }, translated: { targets: [{ deployment: 'c', model: 'x' }] } },
    }),
  });
  return { harness: h, native: h.fakes[0] as FakeUpstream, chatFake: h.fakes[1] as FakeUpstream };
}

function send(harness: Harness, model: string, stream: boolean) {
  return chat(harness.url, { model, input: 'hi', stream }, { path: '/v1/responses', signal: AbortSignal.timeout(15_000) });
}

function expectNumbered(events: Array<{ data: Json }>): void {
  expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
}

describe('attack: hostile upstreams on /v1/responses', () => {
  it('a native answer nested 20,000 levels deep is an upstream protocol error (502 / one upstream_error event), not a gateway bug', async () => {
    const { harness, native } = await start();
    native.enqueue({ kind: 'replay', body: deepened(JSON.stringify(response({ status: 'completed', usage, output: [{ ...item, extra: 'DEEP' }] }))), contentType: 'application/json' });
    const json = await send(harness, 'native', false);
    expect(json.status, json.text).toBe(502);
    expect(json.json().error.code).toBe('upstream_error');

    const rest = deepened(event({ type: 'response.output_item.done', output_index: 0, item: { ...item, extra: 'DEEP' } })) + event({ type: 'response.completed', response: response({ status: 'completed', usage }) });
    // The first event is written alone (padded with an SSE comment to the size of the rest), 200 ms
    // before the rest, so the stream is committed when the deep event comes.
    const first = `: ${'x'.repeat(rest.length)}\n${event({ type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'hi' })}`;
    native.enqueue({ kind: 'replay', body: first + rest, contentType: 'text/event-stream', pieceBytes: first.length });
    native.setBehaviour({ chunkIntervalMs: 200 });
    const streamed = await send(harness, 'native', true);
    expect(streamed.status).toBe(200);
    const events = responsesEvents(streamed.text);
    expect(events[0]!.event).toBe('response.output_text.delta');
    expect(events.filter((e) => e.event === 'error').map((e) => e.data.code)).toEqual(['upstream_error']);
    expect(events.at(-1)!.event).toBe('error');
    expectNumbered(events);

    const outcomes = parseMetrics(await harness.gateway.metrics.text()).filter((s) => s.name === 'gateway_requests_total');
    expect(outcomes.filter((s) => s.labels.outcome === 'internal_error')).toEqual([]);
    expect(outcomes.reduce((sum, s) => sum + s.value, 0)).toBe(2);
  });

  it("a native stream's events are numbered 0, 1, 2… whatever the upstream's numbers; the error event after an unterminated stream comes next", async () => {
    const { harness, native } = await start();
    const delta = (text: string, seq: unknown): Json => ({ type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: text, sequence_number: seq });
    // Out of order, repeated, a string, then the terminal event.
    const complete = [event({ type: 'response.created', response: response() }), event(delta('a', 50)), event(delta('b', 3)), event(delta('c', 3)), event(delta('d', 'zz')), event({ type: 'response.completed', response: response({ status: 'completed', output: [item], usage }), sequence_number: 1 })].join('');
    native.enqueue({ kind: 'replay', body: complete, contentType: 'text/event-stream' });
    const ok = responsesEvents((await send(harness, 'native', true)).text);
    expect(ok.map((e) => e.event)).toEqual(['response.created', ...Array(4).fill('response.output_text.delta'), 'response.completed']);
    expectNumbered(ok);
    // No numbers at all, and no terminal event: the gateway's error event is the next number, not 0.
    native.enqueue({ kind: 'replay', body: event({ type: 'response.created', response: response() }) + event({ ...delta('a', undefined) }), contentType: 'text/event-stream' });
    const cut = responsesEvents((await send(harness, 'native', true)).text);
    expect(cut.map((e) => e.event)).toEqual(['response.created', 'response.output_text.delta', 'error']);
    expectNumbered(cut);
  });

  it('1,500 parallel tool calls from a chat upstream end in one numbered error event after 1,024 items; one outcome per request', async () => {
    const { harness, chatFake } = await start();
    const chunk = (delta: Json, finish: string | null = null): string => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'x', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    let body = chunk({ role: 'assistant' });
    for (let i = 0; i < 1500; i++) body += chunk({ tool_calls: [{ index: i, id: `call_${i}`, type: 'function', function: { name: 'f', arguments: '{}' } }] });
    chatFake.enqueue({ kind: 'replay', body: `${body}${chunk({}, 'tool_calls')}data: [DONE]\n\n`, contentType: 'text/event-stream' });
    const events = responsesEvents((await send(harness, 'translated', true)).text);
    // The events translated with the 1,025th call (one network read) go down with it.
    expect(events.filter((e) => e.event === 'response.output_item.added').length).toBeLessThanOrEqual(1024);
    expect(events.filter((e) => e.event === 'error')).toHaveLength(1);
    expect(events.at(-1)!.data).toMatchObject({ type: 'error', code: 'upstream_error' });
    expect(events.some((e) => e.event === 'response.completed')).toBe(false);
    expectNumbered(events);
    const outcomes = parseMetrics(await harness.gateway.metrics.text()).filter((s) => s.name === 'gateway_requests_total');
    expect(outcomes.map((s) => [s.labels.outcome, s.value])).toEqual([['upstream_error', 1]]);
  });

  it("an upstream's own cost_usd in a native usage never reaches the client: ours (priced) or none (unpriced)", async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai' }, { dialect: 'openai' }],
      config: (f) => ({
        retry: { maxAttempts: 1 },
        deployments: { p: deploymentFor(f[0] as FakeUpstream, { responsesApi: true }), u: deploymentFor(f[1] as FakeUpstream, { responsesApi: true }) },
        models: { priced: { targets: [{ deployment: 'p', model: 'x', price: { input: 1, output: 2 } }] }, unpriced: { targets: [{ deployment: 'u', model: 'x' }] } },
      }),
    });
    const lying = response({ status: 'completed', output: [item], usage: { input_tokens: 1000, output_tokens: 500, total_tokens: 1500, cost_usd: '0.000000', cost_estimated: false } });
    for (const [model, fake, cost] of [['priced', h.fakes[0], '0.002'], ['unpriced', h.fakes[1], undefined]] as const) {
      fake!.enqueue({ kind: 'replay', body: JSON.stringify(lying), contentType: 'application/json' });
      const json = await send(h, model, false);
      expect(json.headers['x-gateway-cost-usd']).toBe(cost);
      expect(json.json().usage).not.toHaveProperty('cost_usd');
      expect(json.json().usage).not.toHaveProperty('cost_estimated');
      fake!.enqueue({ kind: 'replay', body: event({ type: 'response.output_text.delta', delta: 'hi' }) + event({ type: 'response.completed', response: lying }), contentType: 'text/event-stream' });
      const completed = responsesEvents((await send(h, model, true)).text).at(-1)!.data;
      expect(completed.type).toBe('response.completed');
      expect(completed.response.usage.cost_usd).toBe(cost);
      if (cost === undefined) expect(completed.response.usage).not.toHaveProperty('cost_estimated');
    }
  });
});
