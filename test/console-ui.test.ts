/**
 * The console in a real browser (Debian's Chromium through playwright-core), against a gateway in
 * this process with the admin API on and two fake upstreams: sign-in and sign-out; a key created
 * in the UI answers a chat request and is refused once revoked in the UI; a viewer sees no create
 * button and is refused the action when calling it directly; a request that needed a retry opens
 * as a timeline of its attempts; a hostile key name is shown as text; and the page never sends
 * anything (the credential least of all) anywhere but the gateway's origin. One browser for the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, admin } from './helpers/admin.js';
import { browserAvailable, launchBrowser, signIn, type Browser } from './helpers/browser.js';
import { chat, chatBody, deploymentFor, KEY, type Harness } from './helpers/harness.js';

const run = browserAvailable('test/console-ui.test.ts');

describe.skipIf(!run)('the console in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  const requests: Array<{ url: string; authorization: string | undefined }> = [];
  const dialogs: string[] = [];
  const violations: string[] = [];

  beforeAll(async () => {
    // Two upstreams for `m`: when the first fails, a request is retried on the second.
    h = await startAdminHarnessWithTwo();
    browser = await launchBrowser();
    browser.context.on('request', (r) => requests.push({ url: r.url(), authorization: r.headers().authorization }));
    browser.context.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    browser.context.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('signs in with the bootstrap credential, shows every page to an admin, and signs out clearing the credential', async () => {
    const page = await signIn(browser, h.url, ADMIN_KEY);
    const nav = page.getByRole('navigation', { name: 'Pages' });
    for (const name of ['Live', 'Deployments', 'Teams and keys', 'Spend', 'Requests', 'Audit']) await nav.getByRole('link', { name, exact: true }).waitFor();
    await page.locator('.who', { hasText: 'bootstrap' }).waitFor();
    // Keyboard: the first Tab stop skips to the content, the next ones are the pages.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Live');
    expect(await page.evaluate('Object.keys(sessionStorage)')).toEqual(['llm-gateway.console.credential']);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin API credential').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    // A wrong credential stays on the sign-in page with the API's reason, and is not kept (by keyboard: Enter submits).
    await page.getByLabel('Admin API credential').fill('not-a-credential');
    await page.getByLabel('Admin API credential').press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/API key|credential|Incorrect/i);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.close();
  });

  it('a key created in the UI answers a chat request, and is refused (401) once revoked in the UI', async () => {
    const page = await signIn(browser, h.url, ADMIN_KEY, '/ui/teams');
    await page.getByRole('heading', { name: 'Create a team' }).waitFor();
    await page.getByRole('form', { name: 'Create a team' }).getByLabel('Name', { exact: true }).fill('ui-team');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.getByRole('row', { name: /ui-team/ }).first().waitFor();
    const form = page.getByRole('form', { name: 'Create a key' });
    await form.getByLabel('Team', { exact: true }).selectOption('ui-team');
    await form.getByLabel('Name', { exact: true }).fill('made-in-ui');
    await form.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.locator('input[data-secret]').inputValue();
    expect(secret).toMatch(/^sk-gw-/);
    const ok = await chat(h.url, chatBody('m'), { key: secret });
    expect(ok.status, ok.text).toBe(200);

    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Revoke made-in-ui' }).click();
    await page.getByRole('button', { name: 'Confirm revoking made-in-ui' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Revoke made-in-ui' }).count()).toBe(0);
    const refused = await chat(h.url, chatBody('m'), { key: secret });
    expect(refused.status).toBe(401);
    await page.close();
  });

  it('shows a hostile key name as text, never as markup', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const made = await admin(h.url, 'POST', '/keys', { team: 'main', name: hostile });
    expect(made.status, made.text).toBe(201);
    const page = await signIn(browser, h.url, ADMIN_KEY, '/ui/teams');
    await expect.poll(() => page.locator(`tr[data-key-id="${made.body.id}"] td.name`).textContent()).toBe(hostile);
    expect(await page.locator('img').count()).toBe(0);
    await page.waitForTimeout(200);
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it('a viewer sees no create or revoke button, and calling the action with its credential is refused (403)', async () => {
    const viewer = await admin(h.url, 'POST', '/keys', { team: 'main', name: 'watcher', role: 'viewer' });
    expect(viewer.status, viewer.text).toBe(201);
    const page = await signIn(browser, h.url, viewer.body.key as string, '/ui/teams');
    await page.getByRole('heading', { name: 'Keys', exact: true }).waitFor();
    await page.getByRole('row', { name: /watcher/ }).waitFor();
    expect(await page.getByRole('button', { name: 'Create key' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Create team' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);
    // No global role: no Live, Deployments or Audit page.
    const nav = page.getByRole('navigation', { name: 'Pages' });
    expect(await nav.getByRole('link', { name: 'Audit' }).count()).toBe(0);
    expect(await nav.getByRole('link', { name: 'Live' }).count()).toBe(0);
    // The server refuses it anyway, from the page as from anywhere.
    const status = await page.evaluate(async (key) => (await fetch('/admin/v1/keys', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ team: 'main' }) })).status, viewer.body.key as string);
    expect(status).toBe(403);
    expect((await admin(h.url, 'POST', '/keys', { team: 'main' }, viewer.body.key)).status).toBe(403);
    await page.close();
  });

  it('a credential revoked while signed in returns the page to sign-in on its next call', async () => {
    const made = await admin(h.url, 'POST', '/keys', { team: 'main', name: 'short-lived', role: 'team_admin' });
    const page = await signIn(browser, h.url, made.body.key as string, '/ui/teams');
    await page.getByRole('row', { name: /short-lived/ }).waitFor();
    expect((await admin(h.url, 'DELETE', `/keys/${made.body.id}`)).status).toBe(200);
    await page.getByRole('link', { name: 'Spend' }).click();
    await page.getByLabel('Admin API credential').waitFor();
    await page.getByText(/Signed out: the credential was refused/).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.close();
  });

  it('opens a request that needed a retry as a timeline of its attempts', async () => {
    h.fakes[0]!.enqueue({ kind: 'status', status: 503 });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await chat(h.url, chatBody('m'), { key: KEY, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(res.status, res.text).toBe(200);
    const id = res.headers['x-gateway-request-id'] as string;
    // The request log is written about once a second.
    const deadline = Date.now() + 10_000;
    while ((await admin(h.url, 'GET', `/requests/${id}`)).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const page = await signIn(browser, h.url, ADMIN_KEY, '/ui/requests');
    await page.locator(`tr[data-request-id="${id}"]`).click();
    await page.waitForURL(`**/ui/requests/${id}`);
    const attempts = page.locator('li.attempt');
    await expect.poll(() => attempts.count()).toBe(2);
    expect(await attempts.nth(0).textContent()).toMatch(/#1 a\b.*→ retry/s);
    expect(await attempts.nth(1).textContent()).toMatch(/#2 b\b.*success/s);
    // The trace id the client sent, to find the request in the tracing backend.
    expect(await page.locator('[data-trace-id]').textContent()).toBe(traceId);
    await page.close();
  });

  it('sent nothing anywhere but the gateway, the credential only to the admin API, and broke no CSP rule', () => {
    const origin = new URL(h.url).origin;
    expect(requests.length).toBeGreaterThan(10);
    for (const r of requests) {
      expect(new URL(r.url).origin, r.url).toBe(origin);
      if (r.authorization !== undefined) expect(new URL(r.url).pathname, r.url).toMatch(/^\/admin\/v1\//);
    }
    expect(requests.some((r) => r.authorization === `Bearer ${ADMIN_KEY}`)).toBe(true);
    expect(violations).toEqual([]);
  });

  async function startAdminHarnessWithTwo(): Promise<Harness> {
    const { startHarness, deepMerge } = await import('./helpers/harness.js');
    return startHarness({
      fakes: [{ dialect: 'openai' }, { dialect: 'openai' }],
      env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
      config: (f) =>
        deepMerge(
          {
            deployments: { a: deploymentFor(f[0]!), b: deploymentFor(f[1]!) },
            models: { m: { strategy: 'priority', targets: [{ deployment: 'a', model: 'm', priority: 0 }, { deployment: 'b', model: 'm', priority: 1 }] } },
            admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
            state: { database: { dataDir: ':memory:' } },
            requestLog: { flushMs: 100 },
          },
          {},
        ),
    });
  }
});
