/**
 * Traces (issue 13), checked by decoding what an OTLP/JSON receiver on loopback actually got: a
 * SERVER span per request, a CLIENT span per upstream attempt under it, GenAI attributes, the
 * parent ids across a retry and a fallback, and the `traceparent` each upstream attempt carried
 * (its parent id is that attempt's span, in the client's trace).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, startHarness, waitUntil, type Harness } from './helpers/harness.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.js';
import { FAKE_AWS_ACCESS_KEY_ID } from '../src/testing/fake-upstream/bedrock-dialect.js';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const PROMPT = 'Say hello to the integration tests.';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

function logCapture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function setup(fakes = 1, logger?: pino.Logger): Promise<{ h: Harness; rcv: OtlpReceiver }> {
  const rcv = await startOtlpReceiver();
  open.push(rcv);
  const h = await startHarness({
    fakes: Array.from({ length: fakes }, () => ({ dialect: 'openai' as const, behaviour: { reply: 'ok' } })),
    ...(logger ? { logger } : {}),
    config: (f) => ({
      tracing: { enabled: true, endpoint: rcv.url, protocol: 'http/json', scheduledDelayMs: 20, serviceName: 'gw-test' },
      deployments: Object.fromEntries(f.map((fake, i) => [`d${i + 1}`, { provider: 'openai', baseUrl: fake.baseUrl }])),
      models:
        fakes === 1
          ? { chat: { targets: [{ deployment: 'd1', model: 'gpt-4o-mini' }] } }
          : { chat: { targets: [{ deployment: 'd1', model: 'gpt-4o-mini' }], fallbacks: ['backup'] }, backup: { targets: [{ deployment: 'd2', model: 'gpt-4o' }] } },
    }),
  });
  open.unshift(h);
  return { h, rcv };
}

const server = (spans: ReceivedSpan[]): ReceivedSpan[] => spans.filter((s) => s.kind === 2);
const clients = (spans: ReceivedSpan[]): ReceivedSpan[] => spans.filter((s) => s.kind === 3);

describe('tracing over OTLP/JSON', () => {
  it('a request: server span under the client span, client span under it, GenAI attributes, the upstream saw the attempt as parent; no prompt text', async () => {
    const { logger, lines } = logCapture();
    const { h, rcv } = await setup(1, logger);
    const res = await chat(h.url, chatBody('chat'), { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=abc, other=1', 'x-request-id': 'client-req-7' } });
    expect(res.status).toBe(200);
    await waitUntil(() => rcv.spans.length >= 2);
    const [srv] = server(rcv.spans);
    const [cli] = clients(rcv.spans);
    expect(srv).toBeDefined();
    expect(cli).toBeDefined();
    // The tree: client's span → server span → client (attempt) span, one trace.
    expect(srv!.traceId).toBe(CLIENT_TRACE);
    expect(srv!.parentSpanId).toBe(CLIENT_SPAN);
    expect(cli!.traceId).toBe(CLIENT_TRACE);
    expect(cli!.parentSpanId).toBe(srv!.spanId);
    expect(srv!.name).toBe('chat chat');
    expect(cli!.name).toBe('chat gpt-4o-mini');
    expect(srv!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'chat',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': expect.any(Number),
      'gen_ai.usage.output_tokens': expect.any(Number),
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.response.id': res.json().id,
      'http.response.status_code': 200,
      'http.request.header.x-request-id': ['client-req-7'],
      'gateway.request.id': res.headers['x-gateway-request-id'],
      'gateway.attempts': 1,
    });
    expect(srv!.attributes['error.type']).toBeUndefined();
    const port = Number(new URL(h.fakes[0]!.baseUrl).port);
    expect(cli!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': srv!.attributes['gen_ai.usage.input_tokens'],
      'server.address': '127.0.0.1',
      'server.port': port,
      'http.response.status_code': 200,
      'gateway.deployment': 'd1',
      'gateway.attempt': 1,
    });
    expect(srv!.events.map((e) => e.name)).toEqual(expect.arrayContaining(['gateway.admitted', 'gateway.commit']));
    expect(srv!.resource['service.name']).toBe('gw-test');
    // What the upstream received: the attempt's span as parent, the client's tracestate as sent.
    const seen = h.fakes[0]!.received.filter((r) => r.path.endsWith('/chat/completions'));
    expect(seen[0]!.headers.traceparent).toBe(`00-${CLIENT_TRACE}-${cli!.spanId}-01`);
    expect(seen[0]!.headers.tracestate).toBe('vendor=abc,other=1');
    // Nothing of the conversation in any span.
    expect(JSON.stringify(rcv.spans)).not.toContain(PROMPT);
    expect(JSON.stringify(rcv.spans)).not.toMatch(/hello|Hello/);
    // The access log line carries the trace id.
    await waitUntil(() => lines.some((l) => l.msg === 'request'));
    expect(lines.find((l) => l.msg === 'request')?.trace_id).toBe(CLIENT_TRACE);
  });

  it('without a client traceparent: a new root trace; the upstream is in it', async () => {
    const { h, rcv } = await setup();
    expect((await chat(h.url, chatBody('chat'))).status).toBe(200);
    await waitUntil(() => rcv.spans.length >= 2);
    const [srv] = server(rcv.spans);
    const [cli] = clients(rcv.spans);
    expect(srv!.parentSpanId).toBe('');
    expect(srv!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(cli!.traceId).toBe(srv!.traceId);
    expect(h.fakes[0]!.received.at(-1)!.headers.traceparent).toBe(`00-${srv!.traceId}-${cli!.spanId}-01`);
    expect(h.fakes[0]!.received.at(-1)!.headers.tracestate).toBeUndefined();
  });

  it('a retry: two client spans under the one server span, each upstream call parented by its own attempt; a retry event', async () => {
    const { h, rcv } = await setup();
    h.fakes[0]!.enqueue({ kind: 'status', status: 500 });
    const res = await chat(h.url, chatBody('chat'), { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } });
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-attempts']).toBe('2');
    await waitUntil(() => rcv.spans.length >= 3);
    const [srv] = server(rcv.spans);
    const attempts = clients(rcv.spans).sort((a, b) => Number(a.attributes['gateway.attempt']) - Number(b.attributes['gateway.attempt']));
    expect(attempts).toHaveLength(2);
    for (const a of attempts) {
      expect(a.parentSpanId).toBe(srv!.spanId);
      expect(a.traceId).toBe(CLIENT_TRACE);
    }
    expect(attempts[0]!.attributes).toMatchObject({ 'error.type': 'server_error', 'http.response.status_code': 500, 'gateway.attempt': 1 });
    expect(attempts[0]!.statusCode).toBe(2);
    expect(attempts[1]!.attributes).toMatchObject({ 'http.response.status_code': 200, 'gateway.attempt': 2 });
    expect(attempts[1]!.attributes['error.type']).toBeUndefined();
    const retry = srv!.events.find((e) => e.name === 'gateway.retry');
    expect(retry?.attributes).toMatchObject({ 'gateway.deployment': 'd1', 'gateway.retry.reason': 'server_error' });
    const upstream = h.fakes[0]!.received.filter((r) => r.path.endsWith('/chat/completions')).map((r) => r.headers.traceparent);
    expect(upstream).toEqual(attempts.map((a) => `00-${CLIENT_TRACE}-${a.spanId}-01`));
  });

  it('a fallback: the attempts on both aliases hang under the server span; a fallback event; the breaker opening is an event too', async () => {
    const { h, rcv } = await setup(2);
    h.fakes[0]!.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    const res = await chat(h.url, chatBody('chat'), { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } });
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-model']).toBe('backup');
    await waitUntil(() => rcv.spans.length >= 5);
    const [srv] = server(rcv.spans);
    const attempts = clients(rcv.spans).sort((a, b) => Number(a.attributes['gateway.attempt']) - Number(b.attributes['gateway.attempt']));
    expect(attempts.map((a) => a.attributes['gateway.deployment'])).toEqual(['d1', 'd1', 'd1', 'd2']);
    expect(attempts.every((a) => a.parentSpanId === srv!.spanId && a.traceId === CLIENT_TRACE)).toBe(true);
    expect(attempts[3]!.name).toBe('chat gpt-4o');
    expect(srv!.attributes).toMatchObject({ 'gen_ai.request.model': 'chat', 'gen_ai.response.model': 'gpt-4o', 'gateway.served_model': 'backup', 'gateway.attempts': 4 });
    expect(srv!.events.find((e) => e.name === 'gateway.fallback')?.attributes).toMatchObject({ 'gateway.from_model': 'chat', 'gateway.to_model': 'backup' });
    expect(srv!.events.find((e) => e.name === 'gateway.breaker_transition')?.attributes).toMatchObject({ 'gateway.deployment': 'd1', 'gateway.breaker.from': 'closed', 'gateway.breaker.to': 'open' });
    const onBackup = h.fakes[1]!.received.find((r) => r.path.endsWith('/chat/completions'));
    expect(onBackup!.headers.traceparent).toBe(`00-${CLIENT_TRACE}-${attempts[3]!.spanId}-01`);
  });

  it('a stream: the serving attempt span ends with the stream and carries the usage; the commit point is an event', async () => {
    const { h, rcv } = await setup();
    const res = await chat(h.url, chatBody('chat', { stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    await waitUntil(() => rcv.spans.length >= 2);
    const [srv] = server(rcv.spans);
    const [cli] = clients(rcv.spans);
    expect(srv!.attributes).toMatchObject({ 'gateway.stream': true, 'gen_ai.usage.output_tokens': expect.any(Number), 'gateway.time_to_first_chunk_ms': expect.any(Number) });
    expect(cli!.attributes).toMatchObject({ 'gen_ai.usage.output_tokens': srv!.attributes['gen_ai.usage.output_tokens'] });
    expect(srv!.events.map((e) => e.name)).toContain('gateway.commit');
  });

  it('a refused request: the server span says why (error.type), with no client span', async () => {
    const { h, rcv } = await setup();
    const res = await chat(h.url, chatBody('no-such-model'));
    expect(res.status).toBe(404);
    await waitUntil(() => rcv.spans.length >= 1);
    const [srv] = server(rcv.spans);
    expect(srv!.name).toBe('chat unknown');
    expect(srv!.attributes).toMatchObject({ 'error.type': 'model_not_found', 'http.response.status_code': 404 });
    // A client error is not the server span's failure.
    expect(srv!.statusCode).toBe(0);
    expect(clients(rcv.spans)).toHaveLength(0);
  });

  it('a SigV4-signed upstream (Bedrock) takes the traceparent, added after signing, and still verifies the signature', async () => {
    const rcv = await startOtlpReceiver();
    open.push(rcv);
    const secret = 'fake-secret-access-key-0123456789';
    const h = await startHarness({
      fakes: [{ dialect: 'bedrock', apiKey: secret, behaviour: { reply: 'ok' } }],
      env: { AWS_ACCESS_KEY_ID: FAKE_AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: secret },
      config: ([fake]) => ({
        tracing: { enabled: true, endpoint: rcv.url, protocol: 'http/json', scheduledDelayMs: 20 },
        deployments: { br: { provider: 'bedrock', baseUrl: fake!.baseUrl, aws: { region: 'us-east-1', accessKeyId: '${env:AWS_ACCESS_KEY_ID}', secretAccessKey: '${env:AWS_SECRET_ACCESS_KEY}' } } },
        models: { claude: { targets: [{ deployment: 'br', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }] } },
      }),
    });
    open.unshift(h);
    const res = await chat(h.url, chatBody('claude'), { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } });
    expect(res.status).toBe(200);
    await waitUntil(() => rcv.spans.length >= 2);
    const cli = clients(rcv.spans)[0]!;
    expect(cli.attributes['gen_ai.provider.name']).toBe('aws.bedrock');
    const seen = h.fakes[0]!.received.at(-1)!;
    expect(seen.headers.traceparent).toBe(`00-${CLIENT_TRACE}-${cli.spanId}-01`);
    expect(String(seen.headers.authorization)).not.toContain('traceparent');
  });
});
