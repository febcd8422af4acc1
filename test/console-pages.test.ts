/**
 * Every console page in Chromium against a gateway under generated traffic: the live page's
 * numbers move every second from the event stream, deployments show their state and breaker,
 * teams and keys their budgets and use, spend its charts and a CSV download, requests their
 * log, audit its entries and an intact hash chain. With CONSOLE_SCREENSHOTS=<dir> (npm run
 * console:screenshots) each page is saved there as a 1280×800 PNG for docs/console.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, admin } from './helpers/admin.js';
import { browserAvailable, launchBrowser, signIn, type Browser } from './helpers/browser.js';
import { chat, chatBody, deepMerge, deploymentFor, KEY, startHarness, type Harness } from './helpers/harness.js';
import { paletteOf } from './helpers/png-palette.js';

const run = browserAvailable('test/console-pages.test.ts');
const shots = process.env.CONSOLE_SCREENSHOTS ? resolve(import.meta.dirname, '..', process.env.CONSOLE_SCREENSHOTS) : undefined;

async function shot(page: Page, name: string): Promise<void> {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.mouse.move(0, 0);
  // A 256-colour palette: a third of the size, no visible difference on flat UI colours.
  writeFileSync(join(shots, `${name}.png`), paletteOf(await page.screenshot({ fullPage: false })));
}

describe.skipIf(!run)('console pages in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let teamKey: string;
  let traffic: NodeJS.Timeout | undefined;
  let sent = 0;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    h = await startHarness({
      // `fast` answers; `flaky` fails half its calls, so retries, errors and a breaker show up.
      fakes: [
        { dialect: 'openai', name: 'fast', behaviour: { latencyMs: 20, chunkIntervalMs: 5, chunks: 4 } },
        { dialect: 'openai', name: 'flaky', behaviour: { latencyMs: 60, failureRate: 0.5, seed: 3 } },
      ],
      env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
      config: (f) =>
        deepMerge(
          {
            deployments: { fast: deploymentFor(f[0]!), flaky: deploymentFor(f[1]!) },
            models: {
              'gpt-mini': { strategy: 'weighted', targets: [{ deployment: 'fast', model: 'm', weight: 3, price: { input: '0.15', output: '0.6' } }, { deployment: 'flaky', model: 'm', weight: 1, price: { input: '0.15', output: '0.6' } }] },
              'gpt-large': { strategy: 'priority', targets: [{ deployment: 'flaky', model: 'l', priority: 0, price: { input: '2.5', output: '10' } }, { deployment: 'fast', model: 'l', priority: 1, price: { input: '2.5', output: '10' } }] },
            },
            admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
            state: { database: { dataDir: ':memory:' } },
            requestLog: { flushMs: 100 },
          },
          {},
        ),
    });
    expect((await admin(h.url, 'POST', '/teams', { name: 'search', models: ['gpt-mini', 'gpt-large'], budgets: [{ period: 'monthly', limitUsd: '0.5', softLimitUsd: '0.4' }], limits: { requests: { capacity: 100, refillPerSecond: 20 } } })).status).toBe(201);
    expect((await admin(h.url, 'POST', '/teams', { name: 'support', models: ['gpt-mini'] })).status).toBe(201);
    const made = await admin(h.url, 'POST', '/keys', { team: 'search', name: 'search-prod', budgets: [{ period: 'daily', limitUsd: '0.05' }] });
    teamKey = made.body.key as string;
    await admin(h.url, 'POST', '/keys', { team: 'support', name: 'support-bot', role: 'team_admin' });
    const send = (): void => {
      const i = sent++;
      const key = i % 3 === 0 ? KEY : teamKey;
      const model = i % 4 === 0 ? 'gpt-large' : 'gpt-mini';
      void chat(h.url, chatBody(model, { max_tokens: 20, ...(i % 2 === 0 ? { stream: true, stream_options: { include_usage: true } } : {}) }), { key }).catch(() => undefined);
    };
    for (let i = 0; i < 20; i++) send();
    traffic = setInterval(send, 100);
    browser = await launchBrowser();
    browser.context.on('weberror', (e) => pageErrors.push(e.error().message));
    browser.context.on('console', (m) => {
      // Refusals the tests provoke (a revoked key, an aborted stream) are logged by Chromium too.
      if (m.type() === 'error' && !/status of 40[134]|ERR_CONNECTION_RESET/.test(m.text())) pageErrors.push(m.text());
    });
    page = await signIn(browser, h.url, ADMIN_KEY, '/ui/live');
  }, 60_000);
  afterAll(async () => {
    clearInterval(traffic);
    await browser?.close();
    await h?.close();
  });

  it('live: the numbers move every second under traffic', async () => {
    const total = page.locator('[data-stat="total"]');
    await page.locator('.badge', { hasText: 'live' }).waitFor();
    const read = async (): Promise<number> => Number((await total.textContent())?.replace(/[^0-9.]/g, '') || '0');
    await expect.poll(read, { timeout: 10_000 }).toBeGreaterThan(0);
    const first = await read();
    await expect.poll(read, { timeout: 10_000 }).toBeGreaterThan(first);
    await expect.poll(async () => page.locator('[data-stat="rps"]').textContent(), { timeout: 5_000 }).not.toBe('0');
    // Per model and per deployment, names from the configuration.
    await page.getByRole('row', { name: /gpt-mini/ }).first().waitFor();
    await page.getByRole('row', { name: /fast/ }).first().waitFor();
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(6);
    // A screenshot for the docs wants a minute of history; the check needs none.
    if (shots) await page.waitForTimeout(45_000);
    await shot(page, 'live');
  }, shots ? 120_000 : 20_000);

  it('deployments: state, breaker and recent failures, refreshed', async () => {
    await page.getByRole('link', { name: 'Deployments' }).click();
    await page.getByRole('row', { name: /flaky/ }).first().waitFor();
    await page.getByRole('row', { name: /fast/ }).first().waitFor();
    expect(await page.locator('table .badge').count()).toBe(2);
    await page.locator('details.card').nth(1).locator('summary').click();
    await shot(page, 'deployments');
  });

  it('teams and keys: budgets with their use, limits, keys', async () => {
    await page.getByRole('link', { name: 'Teams and keys' }).click();
    await page.getByRole('row', { name: /search-prod/ }).waitFor();
    const search = page.getByRole('row', { name: /^search / }).first();
    await expect.poll(async () => search.textContent(), { timeout: 5_000 }).toMatch(/monthly: \$0\.\d+ \/ \$0\.50/);
    expect(await search.locator('meter').count()).toBe(1);
    await shot(page, 'teams');
  });

  it('spend: by team, model and day, with charts and a CSV download', async () => {
    await page.getByRole('link', { name: 'Spend' }).click();
    await page.getByRole('heading', { name: 'By team' }).waitFor();
    await page.getByRole('row', { name: /gpt-large/ }).waitFor();
    expect(await page.locator('.chart canvas').count()).toBe(2);
    await shot(page, 'spend');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync((await download.path()) as string, 'utf8');
    expect(download.suggestedFilename()).toMatch(/^spend-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(csv.split('\n')[0]).toMatch(/^[\w,"]*team[\w,"]*\r?$/);
    expect(csv).toContain('gpt-large');
  });

  it('requests: the log with filters, and a request as its timeline', async () => {
    await page.getByRole('link', { name: 'Requests' }).click();
    await page.locator('tr[data-request-id]').first().waitFor();
    await page.getByLabel('model', { exact: true }).fill('gpt-large');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(async () => (await page.locator('tr[data-request-id]').allTextContents()).every((t) => t.includes('gpt-large'))).toBe(true);
    await page.getByRole('button', { name: 'Clear' }).click();
    await shot(page, 'requests');
    // A gpt-large request whose first attempt (flaky) failed: two attempts.
    const retried = await findRetried(h.url);
    await page.goto(`${h.url}/ui/requests/${retried}`);
    await expect.poll(() => page.locator('li.attempt').count()).toBeGreaterThanOrEqual(2);
    await shot(page, 'request');
  });

  it('audit: entries and an intact chain', async () => {
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.locator('[data-verify]', { hasText: 'chain intact' }).waitFor();
    await page.getByRole('row', { name: /bootstrap\.used/ }).first().waitFor();
    await page.getByLabel('action', { exact: true }).fill('key.created');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);
    await page.getByRole('row', { name: /search-prod|key_/ }).first().waitFor();
    await shot(page, 'audit');
  });

  it('sign-in page', async () => {
    const fresh = await browser.page();
    await fresh.goto(`${h.url}/ui/`);
    await fresh.getByLabel('Admin API credential').waitFor();
    await shot(fresh, 'signin');
    await fresh.close();
  });

  it('live: a lost stream is reopened, after a delay that grows while it keeps failing', async () => {
    const fresh = await browser.page();
    const tries: number[] = [];
    await fresh.route('**/admin/v1/live', (route) => {
      tries.push(Date.now());
      return route.abort('connectionreset');
    });
    await fresh.goto(`${h.url}/ui/live`);
    await fresh.getByLabel('Admin API credential').fill(ADMIN_KEY);
    await fresh.getByRole('button', { name: 'Sign in' }).click();
    await fresh.locator('.badge', { hasText: 'reconnecting' }).waitFor();
    await expect.poll(() => tries.length, { timeout: 6_000 }).toBeGreaterThanOrEqual(3);
    const gaps = tries.slice(1).map((t, i) => t - tries[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(900);
    expect(gaps[1]).toBeGreaterThan(gaps[0]! * 1.5);
    await fresh.unroute('**/admin/v1/live');
    await fresh.locator('.badge', { hasText: /^live$/ }).waitFor({ timeout: 10_000 });
    await expect.poll(async () => Number((await fresh.locator('[data-stat="total"]').textContent())?.replace(/[^0-9.]/g, '') || '0'), { timeout: 5_000 }).toBeGreaterThan(0);
    await fresh.close();
  }, 30_000);

  it('no page threw or logged an error (a CSP refusal included)', () => {
    expect(pageErrors).toEqual([]);
  });
});

/** The id of a logged request that took more than one attempt. */
async function findRetried(url: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    // Every page: the flaky deployment's breaker opens early and then nothing retries, so the
    // retried requests may be far back in the log.
    let cursor: string | null = null;
    do {
      const list = await admin(url, 'GET', `/requests?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      const row = (list.body.data as Array<{ id: string; attempts: number; status: number }>).find((r) => r.attempts >= 2 && r.status === 200);
      if (row) return row.id;
      cursor = list.body.nextCursor as string | null;
    } while (cursor);
    if (Date.now() > deadline) throw new Error('no retried request in the log');
    await new Promise((r) => setTimeout(r, 200));
  }
}
