/**
 * Attack: a stream still open when the drain's grace runs out is cut; its server span (with the
 * error the client got) and its attempt span are ended before the tracer's final flush, so they
 * reach the collector.
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY, chatBody, dispatcherOption, startHarness, waitUntil } from '../helpers/harness.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

describe('drain cuts a stream', () => {
  it('its server span and attempt span are exported by the shutdown flush', async () => {
    const rcv: OtlpReceiver = await startOtlpReceiver();
    open.push(rcv);
    const h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'ok' } }],
      config: ([fake]) => ({
        server: { shutdownGraceMs: 300 },
        timeouts: { connectMs: 1_000, firstByteMs: 3_000, idleMs: 30_000, totalMs: 60_000 },
        // A long schedule: only the shutdown flush can export these spans.
        tracing: { enabled: true, endpoint: rcv.url, protocol: 'http/json', scheduledDelayMs: 60_000 },
        deployments: { d1: { provider: 'openai', baseUrl: fake!.baseUrl } },
        models: { chat: { targets: [{ deployment: 'd1', model: 'gpt-4o-mini' }] } },
      }),
    });
    open.unshift(h);
    h.fakes[0]!.enqueue({ kind: 'stall', afterChunks: 2 });
    const res = await request(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('chat', { stream: true })),
      ...dispatcherOption(h.url),
    });
    expect(res.statusCode).toBe(200);
    const reading = res.body.text().catch(() => '');
    await waitUntil(() => h.fakes[0]!.received.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    await h.gateway.close();
    await reading;
    const srv = rcv.spans.filter((s) => s.kind === 2);
    const cli = rcv.spans.filter((s) => s.kind === 3);
    expect(srv).toHaveLength(1);
    expect(cli).toHaveLength(1);
    expect(cli[0]!.parentSpanId).toBe(srv[0]!.spanId);
    expect(srv[0]!.attributes['error.type']).toBeDefined();
  }, 30_000);
});
