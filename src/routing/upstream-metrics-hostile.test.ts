/**
 * Attacks on the scraper (issue 14) from a hostile or broken /metrics endpoint, over a loopback
 * server: the scrape must end within its deadline whatever the answer, never follow the server
 * elsewhere, and never stay stuck (a stuck scrape would skip every later tick for good).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { fanOut } from '../observability/events.js';
import { vllmPage } from '../testing/server-metrics-pages.js';
import { DeploymentLoad } from './deployment-load.js';
import { MetricsScraper } from './upstream-metrics.js';

const servers: Server[] = [];
const scrapers: MetricsScraper[] = [];

afterEach(async () => {
  for (const s of scrapers.splice(0)) await s.stop();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, requests: () => requests };
}

function scraper(url: string, timeoutMs: number): { scraper: MetricsScraper; load: DeploymentLoad } {
  const load = new DeploymentLoad();
  const events = fanOut([], (err) => {
    throw err;
  });
  const s = new MetricsScraper({ name: 'vllm-0', load }, { url, format: 'vllm', intervalMs: 5_000, timeoutMs, staleAfterMs: 15_000 }, { clock: new ManualClock(10_000), events });
  scrapers.push(s);
  return { scraper: s, load };
}

describe('a hostile /metrics endpoint', () => {
  it('a 500 whose body trickles for ever ends at the deadline, and the next tick scrapes again', async () => {
    const server = await listen((_req, res) => {
      res.writeHead(500);
      const t = setInterval(() => res.write('x'), 10);
      res.on('close', () => clearInterval(t));
    });
    const { scraper: s } = scraper(server.url, 200);
    expect(['timeout', 'error']).toContain(await s.tick());
    expect(['timeout', 'error']).toContain(await s.tick());
    expect(server.requests()).toBe(2);
  });

  it('a redirect is not followed (to another server, e.g. an internal address): an error, nothing read', async () => {
    const elsewhere = await listen((_req, res) => res.end(vllmPage()));
    const server = await listen((_req, res) => {
      res.writeHead(302, { location: elsewhere.url });
      res.end();
    });
    const { scraper: s, load } = scraper(server.url, 2_000);
    expect(await s.tick()).toBe('error');
    expect(elsewhere.requests()).toBe(0);
    expect(load.scraped).toBeUndefined();
  });

  it('a gzip-encoded page sent unasked is not read as metrics', async () => {
    const { gzipSync } = await import('node:zlib');
    const server = await listen((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(gzipSync(vllmPage()));
    });
    const { scraper: s, load } = scraper(server.url, 2_000);
    expect(await s.tick()).toBe('invalid');
    expect(load.scraped).toBeUndefined();
  });
});
