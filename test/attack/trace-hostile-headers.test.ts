/**
 * Attack: hostile trace headers from a client, over real sockets. Whatever a client sends, an
 * upstream gets either nothing or a well-formed `traceparent` (rebuilt: tracing on; the client's
 * valid one: off) and a `tracestate` of the W3C grammar within 512 characters; the server span's
 * x-request-id attribute is bounded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KEY, chat, chatBody, parseRawResponse, rawHttp, startHarness, waitUntil, type Harness } from '../helpers/harness.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SID = '00f067aa0ba902b7';
const TP = `00-${TID}-${SID}-01`;

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function setup(tracing: Record<string, unknown> | undefined): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai', behaviour: { reply: 'ok' } }],
    config: ([fake]) => ({
      ...(tracing ? { tracing } : {}),
      deployments: { d1: { provider: 'openai', baseUrl: fake!.baseUrl } },
      models: { chat: { targets: [{ deployment: 'd1', model: 'gpt-4o-mini' }] } },
    }),
  });
  open.unshift(h);
  return h;
}

const upstream = (h: Harness) => h.fakes[0]!.received.filter((r) => r.path.endsWith('/chat/completions'));
const tracestateGrammar = /^[a-z0-9][a-z0-9_*/@-]*=[\x20-\x2b\x2d-\x3c\x3e-\x7e]*[\x21-\x2b\x2d-\x3c\x3e-\x7e](,[a-z0-9][a-z0-9_*/@-]*=[\x20-\x2b\x2d-\x3c\x3e-\x7e]*[\x21-\x2b\x2d-\x3c\x3e-\x7e])*$/;

/** A raw request with exactly the header lines given (repeats, latin-1 bytes). */
async function raw(h: Harness, lines: string[]): Promise<number> {
  const body = JSON.stringify(chatBody('chat'));
  const { host } = new URL(h.url);
  const text = await rawHttp(
    h.url,
    [`POST /v1/chat/completions HTTP/1.1`, `host: ${host}`, `authorization: Bearer ${KEY}`, 'content-type: application/json', `content-length: ${Buffer.byteLength(body)}`, 'connection: close', ...lines, '', body].join('\r\n'),
    { timeoutMs: 5_000 },
  );
  return parseRawResponse(text).status;
}

const hostile: Array<{ name: string; lines: string[] }> = [
  { name: 'two identical traceparents', lines: [`traceparent: ${TP}`, `traceparent: ${TP}`] },
  { name: 'a traceparent of 8 KB', lines: [`traceparent: 01-${TID}-${SID}-01-${'a'.repeat(8000)}`] },
  { name: 'a later version with latin-1 bytes after it', lines: [`traceparent: 01-${TID}-${SID}-01-\xe9\xff`] },
  { name: 'tracestate of 1000 members', lines: [`traceparent: ${TP}`, `tracestate: ${Array.from({ length: 1000 }, (_, i) => `k${i}=v`).join(',')}`] },
  { name: '40 tracestate headers, each valid', lines: [`traceparent: ${TP}`, ...Array.from({ length: 40 }, (_, i) => `tracestate: k${i}=v`)] },
  { name: 'tracestate with latin-1 bytes', lines: [`traceparent: ${TP}`, 'tracestate: a=\xe9t\xe9'] },
  { name: 'tracestate of 511 commas', lines: [`traceparent: ${TP}`, `tracestate: ${','.repeat(511)}`] },
  { name: 'tracestate with a tab inside a value', lines: [`traceparent: ${TP}`, 'tracestate: a=b\tc'] },
  { name: 'flags ff', lines: [`traceparent: 00-${TID}-${SID}-ff`] },
];

for (const mode of ['on', 'off'] as const) {
  describe(`tracing ${mode}: hostile trace headers`, () => {
    it('every request succeeds; an upstream sees only a well-formed traceparent / tracestate, or none', async () => {
      let rcv: OtlpReceiver | undefined;
      if (mode === 'on') {
        rcv = await startOtlpReceiver();
        open.push(rcv);
      }
      const h = await setup(mode === 'on' ? { enabled: true, endpoint: rcv!.url, protocol: 'http/json', scheduledDelayMs: 20 } : undefined);
      for (const c of hostile) {
        expect(await raw(h, c.lines), c.name).toBe(200);
        const seen = upstream(h).at(-1)!.headers;
        const tp = seen.traceparent;
        if (tp !== undefined) {
          expect(typeof tp, c.name).toBe('string');
          if (mode === 'on') expect(tp, c.name).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
          else expect(tp, c.name).toMatch(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[\x21-\x7e]*)?$/);
          expect((tp as string).length, c.name).toBeLessThanOrEqual(256);
        }
        const ts = seen.tracestate;
        if (ts !== undefined) {
          expect(typeof ts, c.name).toBe('string');
          expect((ts as string).length, c.name).toBeLessThanOrEqual(512);
          expect(ts, c.name).toMatch(tracestateGrammar);
          expect((ts as string).split(',').length, c.name).toBeLessThanOrEqual(32);
        }
      }
      // Flags ff: only the sampled bit goes on.
      const last = upstream(h).at(-1)!.headers.traceparent as string;
      if (mode === 'on') expect(last).toMatch(new RegExp(`^00-${TID}-[0-9a-f]{16}-01$`));
      else expect(last).toBe(`00-${TID}-${SID}-ff`);
    });
  });
}

describe('tracing on: the client x-request-id on the server span', () => {
  it('an 8 KB x-request-id with latin-1 bytes is cut to 128 characters', async () => {
    const rcv = await startOtlpReceiver();
    open.push(rcv);
    const h = await setup({ enabled: true, endpoint: rcv.url, protocol: 'http/json', scheduledDelayMs: 20 });
    expect(await raw(h, [`x-request-id: ${'\xe9'.repeat(8000)}`])).toBe(200);
    await waitUntil(() => rcv.spans.some((s) => s.kind === 2));
    const srv = rcv.spans.find((s) => s.kind === 2)!;
    const v = srv.attributes['http.request.header.x-request-id'] as string[];
    expect(v[0]!.length).toBeLessThanOrEqual(128);
    // Never forwarded.
    expect(upstream(h).at(-1)!.headers['x-request-id']).toBeUndefined();
  });

  it('a valid client sampled flag is followed at ratio 0 (parent-based, as documented), an unsampled one never recorded', async () => {
    const rcv = await startOtlpReceiver();
    open.push(rcv);
    const h = await setup({ enabled: true, endpoint: rcv.url, protocol: 'http/json', scheduledDelayMs: 20, samplingRatio: 0 });
    expect((await chat(h.url, chatBody('chat'), { headers: { traceparent: `00-${TID}-${SID}-00` } })).status).toBe(200);
    expect((await chat(h.url, chatBody('chat'), { headers: { traceparent: TP } })).status).toBe(200);
    await h.close();
    expect(rcv.spans.length).toBe(2);
    expect(rcv.spans.every((s) => s.traceId === TID)).toBe(true);
  });
});
