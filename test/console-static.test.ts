/**
 * The console's files at /ui (docs/console.md): served on the listener that serves the admin API
 * (the data-plane one here, `admin.port`'s when set), from dist/console/ read at start, with the
 * headers that keep the page to its own origin; page routes fall back to index.html, missing
 * files are 404s, and no path under /ui reaches outside the build (encoded dots and slashes,
 * NULs, backslashes, very long paths). Needs no browser.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminHarness } from './helpers/admin.js';
import type { Harness } from './helpers/harness.js';

const dist = resolve(import.meta.dirname, '..', 'dist', 'console');

/** A GET with the path exactly as written (fetch would normalise dot segments first). */
function rawGet(base: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(base);
  return new Promise((done, fail) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', fail);
    req.end();
  });
}

const csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

describe('the console at /ui on the data-plane listener', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startAdminHarness();
  }, 60_000);
  afterAll(() => h?.close());

  it('serves index.html at /ui, /ui/ and page routes, uncached, with the security headers', async () => {
    const index = readFileSync(join(dist, 'index.html'), 'utf8');
    for (const path of ['/ui', '/ui/', '/ui/live', '/ui/requests/0b7c6f2e-1d5a', '/ui/teams?x=1']) {
      const res = await rawGet(h.url, path);
      expect(res.status, path).toBe(200);
      expect(res.body, path).toBe(index);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain(csp);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('serves the hashed script and stylesheet as immutable, and index.html names them', async () => {
    const assets = readdirSync(join(dist, 'assets'));
    expect(assets.filter((a) => a.endsWith('.js'))).toHaveLength(1);
    expect(assets.filter((a) => a.endsWith('.css'))).toHaveLength(1);
    const index = (await rawGet(h.url, '/ui/')).body;
    for (const name of assets) {
      expect(name).toMatch(/^main-[A-Z0-9]{8}\.(js|css)$/);
      expect(index).toContain(`/ui/assets/${name}`);
      const res = await rawGet(h.url, `/ui/assets/${name}`);
      expect(res.status).toBe(200);
      expect(res.body).toBe(readFileSync(join(dist, 'assets', name), 'utf8'));
      expect(res.headers['content-type']).toBe(name.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers['content-security-policy']).toContain(csp);
    }
    // Nothing is loaded from elsewhere: no URL with a scheme or host in the page or its files.
    expect(index).not.toMatch(/(src|href)="(https?:)?\/\//);
    const css = readFileSync(join(dist, 'assets', assets.find((a) => a.endsWith('.css'))!), 'utf8');
    expect(css).not.toMatch(/@import|url\((?!data:)/);
  });

  it('answers 404 for a missing asset or file name, never index.html', async () => {
    for (const path of ['/ui/assets/main-00000000.js', '/ui/assets/', '/ui/assets/x', '/ui/favicon.ico', '/ui/live/app.js']) {
      const res = await rawGet(h.url, path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body).error.code).toBe('not_found');
    }
  });

  it('no path reaches outside the build: encoded dot segments and slashes, NULs, backslashes, very long paths', async () => {
    const paths = [
      '/ui/../package.json',
      '/ui/..%2fpackage.json',
      '/ui/..%2F..%2Fpackage.json',
      '/ui/%2e%2e/%2e%2e/package.json',
      '/ui/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/ui/assets/..%2f..%2f..%2fpackage.json',
      '/ui/assets/%2e%2e%5c%2e%2e%5cpackage.json',
      '/ui/index.html%00.js',
      '/ui/%00',
      '/ui/live%00',
      '/ui/..%00/x',
      '/ui/%E0%A4%A',
      '/ui/..\\..\\package.json',
      `/ui/${'a/'.repeat(2_000)}`,
      `/ui/${'%2e%2e%2f'.repeat(500)}package.json`,
    ];
    for (const path of paths) {
      const res = await rawGet(h.url, path);
      expect([400, 404], path).toContain(res.status);
      expect(res.body, path).not.toContain('"name": "llm-gateway"');
      expect(res.body, path).not.toContain('<!doctype html>');
    }
    // Only GET (and HEAD): the page itself takes nothing.
    const post = await fetch(`${h.url}/ui/`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});

describe('a gateway without the admin API', () => {
  let h: Harness;
  beforeAll(async () => {
    const { startHarness, deploymentFor } = await import('./helpers/harness.js');
    h = await startHarness({ fakes: [{ dialect: 'openai' }], config: (f) => ({ deployments: { d: deploymentFor(f[0]!) }, models: { m: { targets: [{ deployment: 'd', model: 'm' }] } } }) });
  }, 60_000);
  afterAll(() => h?.close());

  it('serves no console', async () => {
    expect((await rawGet(h.url, '/ui/')).status).toBe(404);
  });
});
