/**
 * Tracing off (the default): the OpenTelemetry SDK is not loaded, yet a client's valid trace
 * context goes upstream unchanged (the caller's trace stays connected) and its trace id is in the
 * access log; an invalid one goes nowhere.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, startHarness, type Harness } from './helpers/harness.js';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function setup(): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai', behaviour: { reply: 'ok' } }],
    config: ([fake]) => ({ deployments: { d1: { provider: 'openai', baseUrl: fake!.baseUrl } }, models: { chat: { targets: [{ deployment: 'd1', model: 'gpt-4o-mini' }] } } }),
  });
  open.push(h);
  return h;
}

const lastUpstream = (h: Harness) => h.fakes[0]!.received.filter((r) => r.path.endsWith('/chat/completions')).at(-1)!.headers;

describe('tracing off', () => {
  it("passes a valid traceparent and tracestate upstream unchanged, on every attempt", async () => {
    const h = await setup();
    h.fakes[0]!.enqueue({ kind: 'status', status: 500 });
    const res = await chat(h.url, chatBody('chat'), { headers: { traceparent: TP, tracestate: 'vendor=abc' } });
    expect(res.status).toBe(200);
    const seen = h.fakes[0]!.received.filter((r) => r.path.endsWith('/chat/completions'));
    expect(seen).toHaveLength(2);
    for (const r of seen) {
      expect(r.headers.traceparent).toBe(TP);
      expect(r.headers.tracestate).toBe('vendor=abc');
    }
  });

  it('sends no trace headers when the client sent none or an invalid one; other client headers never go upstream', async () => {
    const h = await setup();
    await chat(h.url, chatBody('chat'));
    expect(lastUpstream(h).traceparent).toBeUndefined();
    for (const bad of [TP.toUpperCase(), `${TP}-extra`, '00-00000000000000000000000000000000-00f067aa0ba902b7-01', `ff${TP.slice(2)}`]) {
      expect((await chat(h.url, chatBody('chat'), { headers: { traceparent: bad, tracestate: 'vendor=abc' } })).status).toBe(200);
      expect(lastUpstream(h).traceparent).toBeUndefined();
      expect(lastUpstream(h).tracestate).toBeUndefined();
    }
    // A valid parent with an invalid tracestate: the parent goes, the state does not.
    await chat(h.url, chatBody('chat'), { headers: { traceparent: TP, tracestate: 'Bad Key=1', 'x-request-id': 'r1', baggage: 'k=v', 'x-forwarded-for': '1.2.3.4' } });
    const last = lastUpstream(h);
    expect(last.traceparent).toBe(TP);
    expect(last.tracestate).toBeUndefined();
    expect(last['x-request-id']).toBeUndefined();
    expect(last.baggage).toBeUndefined();
    expect(last['x-forwarded-for']).toBeUndefined();
  });

  it('does not load the OpenTelemetry SDK (nor its exporters)', () => {
    // A fresh process: build a gateway from the compiled code, answer a request, list what loaded.
    const dist = resolve(import.meta.dirname, '..', 'dist');
    const script = `
      import { createRequire } from 'node:module';
      const { createGateway } = await import(${JSON.stringify(`${dist}/app.js`)});
      const { resolveConfig } = await import(${JSON.stringify(`${dist}/config/load.js`)});
      const config = resolveConfig({ server: { port: 0 }, logging: { level: 'silent' }, deployments: { d: { provider: 'openai', baseUrl: 'http://127.0.0.1:9' } }, models: { m: { targets: [{ deployment: 'd', model: 'x' }] } }, tenants: { t: { keys: ['sk-test-0123456789abcdef'] } } }, { OTEL_TRACES_EXPORTER: 'none' });
      const g = createGateway(config);
      const { url } = await g.listen({ host: '127.0.0.1', port: 0 });
      await fetch(url + '/v1/chat/completions', { method: 'POST', headers: { authorization: 'Bearer sk-test-0123456789abcdef', 'content-type': 'application/json', traceparent: ${JSON.stringify(TP)} }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
      await g.close();
      // @opentelemetry/api itself is prom-client's (it loads it when installed, for exemplars): the SDK is what costs.
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('@opentelemetry') && !p.includes('@opentelemetry/api/'));
      console.log(JSON.stringify(loaded));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual([]);
  });
});
