/**
 * /metrics off the data plane (issue 9 §7): `server.metrics.port` moves /metrics to its own
 * listener (the data-plane port then answers 404 there), and `server.metrics.bearerToken` (an env
 * reference) makes it require `Authorization: Bearer <token>`. With `--workers` every worker
 * serves the group's metrics on the shared operator port.
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { startChildGateway, type ChildGateway } from './helpers/child-gateway.js';
import { chat, chatBody, closedPort, deploymentFor, get, KEY, metricValue, startHarness, type Harness } from './helpers/harness.js';

const TOKEN = 'metrics-token-0123456789abcdef';
const open: Harness[] = [];
let child: ChildGateway | undefined;
let fake: FakeUpstream | undefined;
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
  await child?.cleanup();
  child = undefined;
  await fake?.close();
  fake = undefined;
});

async function start(metrics: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<{ h: Harness; metricsUrl: string | undefined }> {
  const h = await startHarness({
    env,
    fakes: [{ dialect: 'openai' }],
    config: ([a]) => ({ server: { metrics }, deployments: { a: deploymentFor(a!) }, models: { m: { targets: [{ deployment: 'a', model: 'x' }] } } }),
  });
  open.push(h);
  return { h, metricsUrl: h.metricsUrl };
}

async function scrape(url: string, authorization?: string): Promise<{ status: number; text: string }> {
  const res = await request(`${url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('server.metrics', () => {
  it('with a port, /metrics is served only there; the data-plane port answers 404 for it', async () => {
    const { h, metricsUrl } = await start({ port: 0 });
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await chat(h.url, chatBody('m'))).status).toBe(200);
    const scraped = await scrape(metricsUrl as string);
    expect(scraped.status).toBe(200);
    expect(metricValue(scraped.text, 'gateway_requests_total', { outcome: 'success' })).toBe(1);
    const onDataPlane = await get(h.url, '/metrics', null);
    expect(onDataPlane.status).toBe(404);
    // The API is not on the operator port.
    expect((await request(`${metricsUrl}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })).statusCode).toBe(404);
  });

  it('a bearer token (from the environment) guards /metrics; the token never appears in an answer', async () => {
    const { metricsUrl } = await start({ port: 0, bearerToken: '${env:METRICS_TOKEN}' }, { METRICS_TOKEN: TOKEN });
    const none = await scrape(metricsUrl as string);
    expect(none.status).toBe(401);
    const wrong = await scrape(metricsUrl as string, `Bearer ${TOKEN.slice(0, -1)}x`);
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain(TOKEN.slice(0, 10));
    const right = await scrape(metricsUrl as string, `Bearer ${TOKEN}`);
    expect(right.status).toBe(200);
    expect(right.text).not.toContain(TOKEN);
  });

  it('by default /metrics stays on the data-plane port, without a token', async () => {
    const { h, metricsUrl } = await start({});
    expect(metricsUrl).toBeUndefined();
    expect((await get(h.url, '/metrics', null)).status).toBe(200);
  });

  it('--workers 2: the operator port serves the whole group\'s metrics; the data plane has no /metrics', async () => {
    fake = await FakeUpstream.start({ dialect: 'openai' });
    const metricsPort = await closedPort();
    child = startChildGateway({
      args: ['--workers', '2'],
      config: {
        server: { host: '127.0.0.1', port: 0, drainDelayMs: 100, shutdownGraceMs: 2_000, metrics: { port: metricsPort } },
        logging: { level: 'info', format: 'json' },
        deployments: { a: { provider: 'openai', baseUrl: fake.baseUrl } },
        models: { m: { targets: [{ deployment: 'a', model: 'x' }] } },
        tenants: { main: { keys: [KEY] } },
      },
    });
    await child.waitForLog((l) => l.msg === 'all workers listening', 40_000);
    const url = String((await child.waitForLog((l) => l.msg === 'llm-gateway listening', 5_000)).url);
    for (let i = 0; i < 6; i++) expect((await chat(url, chatBody('m'))).status).toBe(200);
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    // Whichever worker answers, it reports the group: all six requests.
    for (let i = 0; i < 3; i++) {
      const scraped = await scrape(metricsUrl);
      expect(scraped.status).toBe(200);
      expect(metricValue(scraped.text, 'gateway_requests_total', { outcome: 'success' })).toBe(6);
    }
    expect((await get(url, '/metrics', null)).status).toBe(404);
  }, 60_000);
});
