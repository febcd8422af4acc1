/**
 * The scraper over a loopback HTTP server, with a manual clock for what the scrape records (its
 * time, staleness). Real sockets: deadlines, body bounds and connection handling are undici's.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../clock.js';
import type { GatewayConfig } from '../config/load.js';
import { fanOut } from '../observability/events.js';
import { tritonPage, vllmPage } from '../testing/server-metrics-pages.js';
import { DeploymentLoad } from './deployment-load.js';
import type { RuntimeDeployment } from './runtime-types.js';
import { MetricsScraper, SCRAPE_BODY_LIMIT_BYTES, UpstreamMetrics, scrapeSettings, type ScrapeSettings } from './upstream-metrics.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface MetricsServer {
  readonly url: string;
  /** Requests received so far. */
  readonly requests: number;
  handler: Handler;
  /** Resolves once `n` requests have arrived. */
  waitForRequests(n: number): Promise<void>;
}

const servers: Server[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function metricsServer(handler: Handler): Promise<MetricsServer> {
  let requests = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const m: MetricsServer = {
    url: '',
    get requests() {
      return requests;
    },
    handler,
    waitForRequests: (n) => new Promise((resolve) => (requests >= n ? resolve() : waiters.push({ n, resolve }))),
  };
  const server = createServer((req, res) => {
    requests++;
    for (const w of waiters.filter((w) => requests >= w.n)) w.resolve();
    m.handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(m, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics` });
}

const serve = (text: string): Handler => (_req, res) => res.end(text);

interface ScrapeEvent {
  deployment: string;
  outcome: string;
  durationMs: number;
}

function setup(url: string, settings: Partial<ScrapeSettings> = {}): { scraper: MetricsScraper; load: DeploymentLoad; clock: ManualClock; events: ScrapeEvent[] } {
  const clock = new ManualClock(10_000);
  const load = new DeploymentLoad();
  const events: ScrapeEvent[] = [];
  const sink = fanOut([{ upstreamMetricsScrape: (e) => events.push({ ...e }) }], (err) => {
    throw err;
  });
  const scraper = new MetricsScraper({ name: 'vllm-0', load }, { url, format: 'vllm', intervalMs: 5_000, timeoutMs: 5_000, staleAfterMs: 3_000, ...settings }, { clock, events: sink });
  cleanups.push(() => scraper.stop());
  return { scraper, load, clock, events };
}

describe('scraping one deployment', () => {
  it('records what the server said at the scrape time; it is fresh for staleAfterMs, then ignored', async () => {
    const server = await metricsServer(serve(vllmPage()));
    const { scraper, load, clock, events } = setup(server.url);
    expect(await scraper.tick()).toBe('ok');
    expect(load.scraped).toEqual({ atMs: 10_000, running: 5, waiting: 5, kvCacheUsage: 0.5, prefixCacheHitRate: undefined });
    expect(load.staleAfterMs).toBe(3_000);
    expect(events).toEqual([{ deployment: 'vllm-0', outcome: 'ok', durationMs: 0 }]);
    clock.advance(3_000);
    expect(load.fresh(clock.nowMs())).toBe(load.scraped);
    clock.advance(1);
    expect(load.fresh(clock.nowMs())).toBeUndefined();
  });

  it('carries counter totals from one scrape to the next for rates', async () => {
    let page = vllmPage({ hits: 100, queries: 1_000 });
    const server = await metricsServer((_req, res) => res.end(page));
    const { scraper, load } = setup(server.url);
    await scraper.tick();
    page = vllmPage({ hits: 350, queries: 1_500 });
    await scraper.tick();
    expect(load.scraped?.prefixCacheHitRate).toBeCloseTo(0.5);
  });

  it('reads Triton pages with the triton format', async () => {
    const server = await metricsServer(serve(tritonPage()));
    const { scraper, load } = setup(server.url, { format: 'triton' });
    expect(await scraper.tick()).toBe('ok');
    expect(load.scraped?.waiting).toBe(7);
    expect(load.scraped?.running).toBeUndefined();
  });

  it('a failed scrape leaves the last good one in place, to age out', async () => {
    const server = await metricsServer(serve(vllmPage()));
    const { scraper, load, events } = setup(server.url);
    await scraper.tick();
    const good = load.scraped;
    server.handler = (_req, res) => {
      res.statusCode = 503;
      res.end('busy');
    };
    expect(await scraper.tick()).toBe('error');
    expect(load.scraped).toBe(good);
    expect(events.map((e) => e.outcome)).toEqual(['ok', 'error']);
  });

  it('a server that never answers times out at timeoutMs and is counted', async () => {
    const server = await metricsServer(() => undefined);
    const { scraper, load, events } = setup(server.url, { timeoutMs: 100 });
    // Nothing but the scrape's own deadline ends this request (undici's are minutes).
    expect(await scraper.tick()).toBe('timeout');
    expect(load.scraped).toBeUndefined();
    expect(events.map((e) => e.outcome)).toEqual(['timeout']);
  });

  it('the deadline covers the body: a page that trickles times out', async () => {
    const server = await metricsServer((_req, res) => {
      res.write('vllm:num_requests_running 1\n');
      const t = setInterval(() => res.write('# still here\n'), 20);
      res.on('close', () => clearInterval(t));
    });
    const { scraper } = setup(server.url, { timeoutMs: 150 });
    expect(await scraper.tick()).toBe('timeout');
  });

  it('an endless body is cut at the bound and counted invalid', async () => {
    let closed = false;
    let sent = 0;
    let onClosed = (): void => undefined;
    const connectionClosed = new Promise<void>((resolve) => (onClosed = resolve));
    const server = await metricsServer((_req, res) => {
      const line = Buffer.from(`# ${'x'.repeat(1_000)}\n`);
      const pump = (): void => {
        while (!closed && res.write(line)) sent += line.length;
      };
      res.on('drain', pump);
      res.on('close', () => {
        closed = true;
        onClosed();
      });
      pump();
    });
    const { scraper } = setup(server.url, { timeoutMs: 10_000 });
    expect(await scraper.tick()).toBe('invalid');
    // The gateway hung up: the server stops sending.
    await connectionClosed;
    expect(sent).toBeGreaterThan(SCRAPE_BODY_LIMIT_BYTES);
  });

  it('a page that is not metrics is invalid', async () => {
    const server = await metricsServer(serve('<html><body>hello</body></html>'));
    const { scraper, events } = setup(server.url);
    expect(await scraper.tick()).toBe('invalid');
    expect(events.map((e) => e.outcome)).toEqual(['invalid']);
  });

  it('a refused connection is an error', async () => {
    const server = await metricsServer(serve(''));
    const url = server.url;
    const s = servers.pop()!;
    await new Promise((resolve) => s.close(resolve));
    const { scraper } = setup(url);
    expect(await scraper.tick()).toBe('error');
  });

  it('never runs two scrapes of one deployment at once: a tick while one runs is skipped', async () => {
    const held: ServerResponse[] = [];
    const server = await metricsServer((_req, res) => held.push(res));
    const { scraper, events } = setup(server.url, { timeoutMs: 10_000 });
    const first = scraper.tick();
    await server.waitForRequests(1);
    expect(await scraper.tick()).toBeUndefined();
    expect(await scraper.tick()).toBeUndefined();
    held[0]!.end(vllmPage());
    expect(await first).toBe('ok');
    expect(server.requests).toBe(1);
    expect(events).toHaveLength(1);
  });

  it('scrapes at start, then every intervalMs, and stop leaves no timer behind', async () => {
    // Only the interval is faked: the scrape's deadline and undici's own timers stay real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    cleanups.push(async () => void vi.useRealTimers());
    const server = await metricsServer(serve(vllmPage()));
    const { scraper, events } = setup(server.url, { intervalMs: 1_000, timeoutMs: 1_000 });
    scraper.start();
    expect(vi.getTimerCount()).toBe(1);
    await expect.poll(() => events.length).toBe(1);
    vi.advanceTimersByTime(999);
    expect(server.requests).toBe(1);
    vi.advanceTimersByTime(1);
    await expect.poll(() => events.length).toBe(2);
    await scraper.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stop aborts the scrape in flight without counting it, and nothing scrapes after', async () => {
    const server = await metricsServer(() => undefined);
    const { scraper, load, events } = setup(server.url, { timeoutMs: 10_000 });
    const running = scraper.tick();
    await server.waitForRequests(1);
    await scraper.stop();
    expect(await running).toBeUndefined();
    expect(await scraper.tick()).toBeUndefined();
    expect(events).toEqual([]);
    expect(load.scraped).toBeUndefined();
    expect(server.requests).toBe(1);
  });
});

describe('scrapeSettings', () => {
  it('defaults the format by provider and staleness to three intervals', () => {
    const metrics = { url: 'http://x:8002/metrics', intervalMs: 500, timeoutMs: 100 };
    expect(scrapeSettings({ provider: 'triton', metrics } as GatewayConfig['deployments'][string])).toEqual({ ...metrics, format: 'triton', staleAfterMs: 1_500 });
    expect(scrapeSettings({ provider: 'openai', metrics: { ...metrics, staleAfterMs: 700 } } as GatewayConfig['deployments'][string])).toMatchObject({ format: 'vllm', staleAfterMs: 700 });
    expect(scrapeSettings({ provider: 'vllm' } as GatewayConfig['deployments'][string])).toBeUndefined();
  });
});

describe('following reloads', () => {
  const deployment = (name: string): RuntimeDeployment => ({ name, load: new DeploymentLoad() }) as unknown as RuntimeDeployment;
  const config = (urls: Record<string, string | undefined>): GatewayConfig =>
    ({ deployments: Object.fromEntries(Object.entries(urls).map(([n, url]) => [n, { provider: 'vllm', ...(url ? { metrics: { url, intervalMs: 100, timeoutMs: 50 } } : {}) }])) }) as unknown as GatewayConfig;

  it('keeps the scraper of a deployment kept as the same object, replaces a rebuilt one, stops removed ones, and stops all at the end', async () => {
    const a = await metricsServer(serve(vllmPage()));
    const b = await metricsServer(serve(vllmPage()));
    const clock = new ManualClock();
    const upstream = new UpstreamMetrics({ clock, events: fanOut([], () => undefined) });
    cleanups.push(() => upstream.stop());
    const [keep, change, remove, plain] = [deployment('keep'), deployment('change'), deployment('remove'), deployment('plain')];
    upstream.follow(config({ keep: a.url, change: b.url, remove: b.url, plain: undefined }), new Map([['keep', keep], ['change', change], ['remove', remove], ['plain', plain]]));
    expect(upstream.scraping).toEqual([keep, change, remove]);
    // Started at once: the first scrape does not wait an interval.
    await a.waitForRequests(1);
    await b.waitForRequests(2);

    const changed = deployment('change');
    upstream.follow(config({ keep: a.url, change: b.url, plain: undefined }), new Map([['keep', keep], ['change', changed], ['plain', plain]]));
    expect(upstream.scraping).toEqual([keep, changed]);
    // The new object's scraper scrapes into the new load.
    await b.waitForRequests(3);
    await expect.poll(() => changed.load.scraped).toBeDefined();

    await upstream.stop();
    expect(upstream.scraping).toEqual([]);
    upstream.follow(config({ keep: a.url }), new Map([['keep', keep]]));
    expect(upstream.scraping).toEqual([]);
  });
});
