/**
 * Debian's Chromium driven by playwright-core for the console's tests: headless, a fresh profile
 * per launch, and the flags that keep it off the network (no component updates, sync, QUIC or
 * background fetches). Without /usr/bin/chromium the tests skip with a message, unless CI=true,
 * where they must run (.ci/run installs it).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const flags = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

/** Whether the browser tests run here; logs why not when they do not. Throws on CI without a browser. */
export function browserAvailable(file: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must run the browser tests (.ci/run installs chromium)`);
  console.warn(`${file}: skipped, no browser at ${CHROMIUM} (apt-get install chromium to run it)`);
  return false;
}

export interface Browser {
  readonly context: BrowserContext;
  /** A new tab at 1280×800 (its own sessionStorage). */
  page(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'llm-gateway-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: flags,
    viewport: { width: 1280, height: 800 },
    timeout: 20_000,
  });
  context.setDefaultTimeout(8_000);
  return {
    context,
    page: () => context.newPage(),
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in on a new tab with `credential` and waits for the page menu. */
export async function signIn(browser: Browser, origin: string, credential: string, path = '/ui/'): Promise<Page> {
  const page = await browser.page();
  await page.goto(`${origin}${path}`);
  await page.getByLabel('Admin API credential').fill(credential);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  return page;
}
