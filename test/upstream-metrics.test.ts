/**
 * Scraping deployments' own metrics (docs/routing.md "Server metrics") in a real gateway, against
 * a loopback server that serves a vLLM page and a Triton page: scrapes start with the gateway,
 * are counted in /metrics, follow a hot reload (a removed deployment stops being scraped, a
 * changed one is scraped at its new URL), and end with the gateway (no timer or connection left).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../src/clock.js';
import type { GatewayEvents } from '../src/observability/events.js';
import { tritonPage, vllmPage } from '../src/testing/server-metrics-pages.js';
import { deploymentFor, harnessConfig, metric, startHarness, type Harness, type HarnessOptions } from './helpers/harness.js';

type ScrapeEvent = Parameters<GatewayEvents['upstreamMetricsScrape']>[0];

interface PagesServer {
  readonly origin: string;
  /** Requests so far, by path. */
  readonly hits: Map<string, number>;
  readonly sockets: Set<Socket>;
  readonly server: Server;
}

let harness: Harness | undefined;
let pages: PagesServer | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  if (pages) {
    pages.server.closeAllConnections();
    await new Promise((resolve) => pages!.server.close(resolve));
    pages = undefined;
  }
});

async function startPages(): Promise<PagesServer> {
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(path.startsWith('/triton') ? tritonPage() : vllmPage());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, sockets, server };
}

const hitsOf = (path: string): number => pages?.hits.get(path) ?? 0;

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  await expect.poll(check, { timeout: timeoutMs, message: what }).toBe(true);
}

describe('scraping deployments’ own metrics', () => {
  it('scrapes vLLM and Triton from listen on, follows reloads, and stops with the gateway', async () => {
    pages = await startPages();
    const origin = pages.origin;
    const events: ScrapeEvent[] = [];
    const config = (deployments: Record<string, string>): HarnessOptions['config'] => (f) => ({
      deployments: Object.fromEntries(
        Object.entries(deployments).map(([name, path]) => [name, deploymentFor(f[0]!, { provider: 'vllm', metrics: { url: `${origin}${path}`, format: path.startsWith('/triton') ? 'triton' : 'vllm', intervalMs: 200, timeoutMs: 200 } })]),
      ),
      models: { m: { targets: [{ deployment: 'vllm-0', model: 'x' }] } },
    });
    harness = await startHarness({ fakes: [{ dialect: 'openai' }], config: config({ 'vllm-0': '/vllm', 'triton-0': '/triton' }), eventSinks: [{ upstreamMetricsScrape: (e) => events.push(e) }] });
    const { gateway, url, fakes } = harness;

    await until(() => events.some((e) => e.deployment === 'vllm-0' && e.outcome === 'ok') && events.some((e) => e.deployment === 'triton-0' && e.outcome === 'ok'), 'both deployments scraped');
    expect(await metric(url, 'gateway_upstream_metrics_scrapes_total', { deployment: 'vllm-0', outcome: 'ok' })).toBeGreaterThan(0);
    expect(await metric(url, 'gateway_upstream_metrics_scrape_duration_seconds_count', { deployment: 'triton-0' })).toBeGreaterThan(0);

    // Reload: triton-0 removed, vllm-0 changed (new URL, so compiled afresh).
    const reloaded = gateway.reload(harnessConfig(config({ 'vllm-0': '/vllm-new' })(fakes)));
    expect(reloaded).toMatchObject({ ok: true, removed: ['triton-0'], rebuilt: ['vllm-0'] });
    const tritonAtReload = hitsOf('/triton');
    const oldVllmAtReload = hitsOf('/vllm');
    await until(() => hitsOf('/vllm-new') >= 3, 'the changed deployment scraped at its new URL');
    expect(hitsOf('/triton')).toBe(tritonAtReload);
    expect(hitsOf('/vllm')).toBe(oldVllmAtReload);

    // Close: every scraper's connection is closed, and no scrape comes after.
    await gateway.close();
    await until(() => pages!.sockets.size === 0, 'scrape connections closed');
    const atClose = hitsOf('/vllm-new');
    // Five intervals with no scrape: the timers are gone (a negative can only be shown by waiting).
    await sleep(1_000);
    expect(hitsOf('/vllm-new')).toBe(atClose);
  });

  it('a gateway that is not listening scrapes nothing', async () => {
    pages = await startPages();
    const { createGateway } = await import('../src/app.js');
    const gateway = createGateway(harnessConfig({ deployments: { d: { provider: 'vllm', baseUrl: 'http://127.0.0.1:9/v1', metrics: { url: `${pages.origin}/vllm`, intervalMs: 100, timeoutMs: 50 } } }, models: { m: { targets: [{ deployment: 'd', model: 'x' }] } } }));
    await sleep(300);
    expect(hitsOf('/vllm')).toBe(0);
    await gateway.close();
  });
});
