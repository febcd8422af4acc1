/**
 * Failures that leave a trace (issue 10 §2): requests refused before the pipeline (413, not
 * JSON, bad JSON, client gone mid-upload, 404, 405) end in exactly one access-log line and one
 * `gateway_requests_total` count, with the right status, outcome and code.
 */
import { connect } from 'node:net';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { deploymentFor, dispatcherOption, KEY, metricValue, parseRawResponse, rawHttp, scrapeMetrics, startHarness, type Harness, waitUntil } from './helpers/harness.js';

interface AccessLine {
  readonly msg: string;
  readonly requestId: string;
  readonly route: string;
  readonly status: number;
  readonly outcome: string;
  readonly errorCode?: string;
  readonly model: string;
}

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function start(server: Record<string, unknown> = {}): Promise<{ h: Harness; lines: () => AccessLine[] }> {
  const raw: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void raw.push(line) });
  const h = await startHarness({
    logger,
    fakes: [{ dialect: 'openai' }],
    config: ([a]) => ({ server, logging: { level: 'info' }, deployments: { a: deploymentFor(a!) }, models: { m: { targets: [{ deployment: 'a', model: 'x' }] } } }),
  });
  open.push(h);
  const lines = (): AccessLine[] => raw.map((l) => JSON.parse(l) as AccessLine).filter((l) => l.msg === 'request');
  return { h, lines };
}

async function send(h: Harness, method: string, path: string, headers: Record<string, string>, body?: string) {
  const res = await request(`${h.url}${path}`, { method: method as 'POST', headers, ...(body === undefined ? {} : { body }), ...dispatcherOption(h.url) });
  await res.body.text();
  return { status: res.statusCode, requestId: res.headers['x-gateway-request-id'] as string };
}

const auth = { authorization: `Bearer ${KEY}` };
const json = { ...auth, 'content-type': 'application/json' };

describe('requests refused at the edge are recorded once', () => {
  it('413, not JSON, bad JSON, 404 and 405: one access-log line each with status, outcome and code; counted in gateway_requests_total', async () => {
    const { h, lines } = await start({ bodyLimitBytes: 1024 });
    const cases = [
      { method: 'POST', path: '/v1/chat/completions', headers: json, body: 'x'.repeat(4096), status: 413, code: 'request_too_large', route: '/v1/chat/completions' },
      { method: 'POST', path: '/v1/chat/completions', headers: { ...auth, 'content-type': 'text/plain' }, body: '{}', status: 400, code: 'unsupported_media_type', route: '/v1/chat/completions' },
      { method: 'POST', path: '/v1/messages', headers: json, body: '{"model":', status: 400, code: 'invalid_json', route: '/v1/messages' },
      { method: 'GET', path: '/v1/nothing/here', headers: auth, status: 404, code: 'not_found', route: 'unmatched' },
      { method: 'GET', path: '/v1/embeddings', headers: auth, status: 405, code: 'method_not_allowed', route: '/v1/embeddings' },
    ];
    for (const c of cases) {
      const res = await send(h, c.method, c.path, c.headers, c.body);
      expect(res.status, c.code).toBe(c.status);
      const mine = lines().filter((l) => l.requestId === res.requestId);
      expect(mine, c.code).toHaveLength(1);
      expect(mine[0], c.code).toMatchObject({ route: c.route, status: c.status, outcome: 'client_error', errorCode: c.code, model: 'unknown' });
    }
    const metrics = await scrapeMetrics(h.url);
    for (const c of cases) {
      const statusClass = `${Math.floor(c.status / 100)}xx`;
      expect(metricValue(metrics, 'gateway_requests_total', { route: c.route, status_class: statusClass, outcome: 'client_error' }), c.code).toBeGreaterThanOrEqual(1);
    }
    expect(metricValue(metrics, 'gateway_requests_total')).toBe(cases.length);
    // The unmatched path never becomes a label value.
    expect(metrics).not.toContain('/v1/nothing/here');
  });

  it('a client gone mid-upload is recorded once as client_disconnect (status 499)', async () => {
    const { h, lines } = await start();
    const { port } = new URL(h.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: 1000\r\n\r\n{"model":"m",`);
    // Let the request reach the edge, then vanish (a reset: the client is not there to read anything).
    await new Promise((r) => setTimeout(r, 200));
    socket.resetAndDestroy();
    await waitUntil(() => lines().length > 0);
    const recorded = lines();
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ route: '/v1/chat/completions', status: 499, outcome: 'client_disconnect' });
    const metrics = await scrapeMetrics(h.url);
    expect(metricValue(metrics, 'gateway_requests_total', { outcome: 'client_disconnect', status_class: '4xx' })).toBe(1);
    // Still one line after everything settled.
    expect(lines()).toHaveLength(1);
  });

  it('a body cut short by a half-close is answered 400 and recorded once as that answer', async () => {
    const { h, lines } = await start();
    const raw = await rawHttp(h.url, `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: 100\r\n\r\n{"model":`, { halfClose: true });
    expect(parseRawResponse(raw).status).toBe(400);
    await waitUntil(() => lines().length > 0);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ route: '/v1/chat/completions', status: 400, outcome: 'client_error', errorCode: 'invalid_request' });
  });

  it('probes and scrapes are not requests: /health, /ready and /metrics leave no line and no count', async () => {
    const { h, lines } = await start();
    expect((await send(h, 'GET', '/health', {})).status).toBe(200);
    expect((await send(h, 'GET', '/ready', {})).status).toBe(200);
    const metrics = await scrapeMetrics(h.url);
    expect(metricValue(metrics, 'gateway_requests_total')).toBe(0);
    expect(lines()).toHaveLength(0);
  });
});
