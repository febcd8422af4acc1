/**
 * Tracing's export side (issue 13): OTLP/protobuf (the default) decoded as received, parent-based
 * ratio sampling, and a collector that is dead, failing or hanging: requests are never slowed or
 * failed by it, and spans that cannot be queued are dropped and counted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, closedPort, metric, waitUntil, type Harness } from './helpers/harness.js';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp-receiver.js';
import { keptLogger, startTracedHarness } from './helpers/traced-harness.js';

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function setup(tracing: Record<string, unknown>, options: Parameters<typeof startTracedHarness>[1] = {}): Promise<Harness> {
  const h = await startTracedHarness(tracing, options);
  open.unshift(h);
  return h;
}

async function receiver(mode: 'ok' | 'fail' | 'hang' = 'ok'): Promise<OtlpReceiver> {
  const rcv = await startOtlpReceiver(mode);
  open.push(rcv);
  return rcv;
}

const upstreamTraceparents = (h: Harness): Array<string | string[] | undefined> => h.fakes[0]!.received.filter((r) => r.path.endsWith('/chat/completions')).map((r) => r.headers.traceparent);

describe('OTLP/protobuf export', () => {
  it('is the default protocol; the decoded spans form the tree with their attributes', async () => {
    const rcv = await receiver();
    const h = await setup({ endpoint: rcv.url });
    const res = await chat(h.url, chatBody('chat'), { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } });
    expect(res.status).toBe(200);
    await waitUntil(() => rcv.spans.length >= 2);
    expect(rcv.requests[0]!.contentType).toBe('application/x-protobuf');
    const srv = rcv.spans.find((s) => s.kind === 2)!;
    const cli = rcv.spans.find((s) => s.kind === 3)!;
    expect(srv).toMatchObject({ traceId: CLIENT_TRACE, parentSpanId: CLIENT_SPAN, name: 'chat chat' });
    expect(cli).toMatchObject({ traceId: CLIENT_TRACE, parentSpanId: srv.spanId, name: 'chat gpt-4o-mini' });
    expect(srv.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'chat', 'gen_ai.provider.name': 'openai', 'http.response.status_code': 200, 'gen_ai.response.finish_reasons': ['stop'] });
    expect(cli.attributes).toMatchObject({ 'gen_ai.request.model': 'gpt-4o-mini', 'server.address': '127.0.0.1', 'gateway.attempt': 1 });
    expect(srv.resource['service.name']).toBe('llm-gateway');
    expect(upstreamTraceparents(h)).toEqual([`00-${CLIENT_TRACE}-${cli.spanId}-01`]);
  });

  it('collector headers from the config reach it (values from the environment)', async () => {
    const rcv = await receiver();
    const h = await setup({ endpoint: rcv.url, headers: { authorization: '${env:OTLP_AUTH}' } }, { env: { OTLP_AUTH: 'Bearer secret-otlp-token' } });
    expect((await chat(h.url, chatBody('chat'))).status).toBe(200);
    await waitUntil(() => rcv.requests.length >= 1);
    expect(rcv.requests[0]!.headers.authorization).toBe('Bearer secret-otlp-token');
  });
});

describe('sampling', () => {
  it('ratio 0: a request without trace context exports nothing, yet the upstream gets a (not sampled) traceparent', async () => {
    const rcv = await receiver();
    const h = await setup({ endpoint: rcv.url, samplingRatio: 0 });
    for (let i = 0; i < 5; i++) expect((await chat(h.url, chatBody('chat'))).status).toBe(200);
    await h.close();
    expect(rcv.spans).toHaveLength(0);
    for (const tp of upstreamTraceparents(h)) expect(tp).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });

  it('ratio 0 follows a sampled parent (parent-based)', async () => {
    const rcv = await receiver();
    const h = await setup({ endpoint: rcv.url, samplingRatio: 0 });
    expect((await chat(h.url, chatBody('chat'), { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } })).status).toBe(200);
    await waitUntil(() => rcv.spans.length >= 2);
    expect(rcv.spans.every((s) => s.traceId === CLIENT_TRACE)).toBe(true);
  });

  it('a parent that is not sampled: nothing exported at ratio 1; the upstream stays in the client trace, not sampled, under a new span id', async () => {
    const rcv = await receiver();
    const h = await setup({ endpoint: rcv.url, samplingRatio: 1 });
    expect((await chat(h.url, chatBody('chat'), { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-00` } })).status).toBe(200);
    await h.close();
    expect(rcv.spans).toHaveLength(0);
    const [tp] = upstreamTraceparents(h);
    expect(tp).toMatch(new RegExp(`^00-${CLIENT_TRACE}-[0-9a-f]{16}-00$`));
    expect(tp).not.toContain(CLIENT_SPAN);
  });

  it('an invalid traceparent is ignored: a new root trace, never a 400', async () => {
    const rcv = await receiver();
    const h = await setup({ endpoint: rcv.url });
    const res = await chat(h.url, chatBody('chat'), { headers: { traceparent: `00-${CLIENT_TRACE.toUpperCase()}-${CLIENT_SPAN}-01`, tracestate: 'a=1' } });
    expect(res.status).toBe(200);
    await waitUntil(() => rcv.spans.length >= 2);
    const srv = rcv.spans.find((s) => s.kind === 2)!;
    expect(srv.parentSpanId).toBe('');
    expect(srv.traceId).not.toBe(CLIENT_TRACE);
    // The tracestate of an ignored parent is not passed on either.
    expect(h.fakes[0]!.received.at(-1)!.headers.tracestate).toBeUndefined();
  });
});

describe('a collector that does not take spans never affects requests', () => {
  it('dead (connection refused): requests succeed; the failed exports are counted', async () => {
    const h = await setup({ endpoint: `http://127.0.0.1:${await closedPort()}/v1/traces`, exportTimeoutMs: 500 });
    for (let i = 0; i < 5; i++) expect((await chat(h.url, chatBody('chat'))).status).toBe(200);
    await waitUntil(() => h.gateway.metrics.registry.getSingleMetric('gateway_trace_spans_dropped_total') !== undefined);
    await expect.poll(async () => metric(h.url, 'gateway_trace_spans_dropped_total', { reason: 'export_failed' }), { timeout: 10_000 }).toBeGreaterThan(0);
  });

  it('failing with a credential configured: the warning names no URL and no header value', async () => {
    const rcv = await receiver('fail');
    const { logger, lines } = keptLogger();
    const h = await setup({ endpoint: rcv.url, headers: { authorization: '${env:OTLP_AUTH}' } }, { logger, env: { OTLP_AUTH: 'Bearer very-secret-otlp-token' } });
    expect((await chat(h.url, chatBody('chat'))).status).toBe(200);
    await waitUntil(() => lines.some((l) => l.includes('trace export failed')));
    const text = lines.join('');
    expect(text).not.toContain('very-secret-otlp-token');
    expect(text).not.toContain(rcv.url);
  });

  it('failing (HTTP 500): requests succeed; the failed exports are counted', async () => {
    const rcv = await receiver('fail');
    const h = await setup({ endpoint: rcv.url });
    for (let i = 0; i < 3; i++) expect((await chat(h.url, chatBody('chat'))).status).toBe(200);
    await expect.poll(async () => metric(h.url, 'gateway_trace_spans_dropped_total', { reason: 'export_failed' }), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(rcv.requests.length).toBeGreaterThan(0);
  });

  it('hanging: requests are not slowed; once the bounded queue is full, spans are dropped and counted', async () => {
    const rcv = await receiver('hang');
    // Four spans fill the queue and start an export that never ends; the rest find it full.
    const h = await setup({ endpoint: rcv.url, maxQueueSize: 4, maxExportBatchSize: 4, exportTimeoutMs: 60_000, scheduledDelayMs: 60_000 });
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 12 }, () => chat(h.url, chatBody('chat'))));
    const tookMs = performance.now() - started;
    expect(results.every((r) => r.status === 200)).toBe(true);
    // Generous: a stuck export would hold these for the 60 s export timeout.
    expect(tookMs).toBeLessThan(10_000);
    await waitUntil(() => rcv.requests.length >= 1);
    expect(await metric(h.url, 'gateway_trace_spans_dropped_total', { reason: 'queue_full' })).toBeGreaterThan(0);
    // Closing (which flushes) is bounded too, though the collector never answers.
    const closing = performance.now();
    await h.close();
    expect(performance.now() - closing).toBeLessThan(15_000);
  });
});
