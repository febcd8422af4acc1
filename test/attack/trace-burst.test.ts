/**
 * Attack: a burst of 5,000 requests while the collector hangs. Every request succeeds; the spans
 * that do not fit the bounded queue are dropped and counted (2 per request: 10,000 spans for a
 * queue of 256), and the heap does not keep them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, metric, startHarness } from '../helpers/harness.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

const REQUESTS = 5_000;
const CONCURRENCY = 50;
const QUEUE = 256;

describe('tracing under a burst with a hanging collector', () => {
  it('every request succeeds; spans past the queue are dropped and counted; the heap stays bounded', async () => {
    const rcv = await startOtlpReceiver('hang');
    open.push(rcv);
    const h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'ok' } }],
      config: ([fake]) => ({
        tracing: { enabled: true, endpoint: rcv.url, scheduledDelayMs: 50, maxQueueSize: QUEUE, maxExportBatchSize: 64, exportTimeoutMs: 60_000 },
        deployments: { d1: { provider: 'openai', baseUrl: fake!.baseUrl } },
        models: { chat: { targets: [{ deployment: 'd1', model: 'gpt-4o-mini' }] } },
      }),
    });
    open.unshift(h);
    // A long x-request-id: each kept span is bigger, so keeping them all would show.
    const headers = { 'x-request-id': 'r'.repeat(128) };
    for (let i = 0; i < 200; i++) await chat(h.url, chatBody('chat'), { headers });
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let next = 0;
    let failed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          next++;
          if ((await chat(h.url, chatBody('chat'), { headers })).status !== 200) failed++;
        }
      }),
    );
    const tookMs = performance.now() - started;
    global.gc?.();
    const heapAfter = process.memoryUsage().heapUsed;
    const dropped = await metric(h.url, 'gateway_trace_spans_dropped_total', { reason: 'queue_full' });
    console.log(`burst: ${REQUESTS} requests in ${tookMs.toFixed(0)} ms; heap ${((heapAfter - heapBefore) / 1e6).toFixed(1)} MB more; queue_full dropped ${dropped}; collector got ${rcv.requests.length} export requests`);
    expect(failed).toBe(0);
    // 10,400 spans in all; at most the queue plus the batches the exporter holds were kept.
    expect(dropped).toBeGreaterThanOrEqual(2 * (REQUESTS + 200) - QUEUE - 4 * 64 - 64);
    expect(rcv.requests.length).toBeLessThanOrEqual(4);
  }, 120_000);
});
