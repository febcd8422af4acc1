/**
 * Signing in to the console with the identity provider (`identity.console`): the page discovers
 * the provider from `identity.jwt.issuer`, sends the person there with a PKCE challenge, and on
 * the way back trades the code (with its verifier) for an access token, which the admin API then
 * accepts as the credential. The fake provider logs the person in at once. Chromium, as the other
 * console tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeIdp } from '../src/testing/fake-idp.js';
import { startAdminHarness } from './helpers/admin.js';
import { browserAvailable, launchBrowser, type Browser } from './helpers/browser.js';
import type { Harness } from './helpers/harness.js';
import { AUDIENCE, identityConfig } from './helpers/identity.js';

const run = browserAvailable('test/console-oidc.test.ts');

describe.skipIf(!run)('console sign-in with the identity provider', () => {
  let idp: FakeIdp;
  let h: Harness;
  let browser: Browser;

  beforeAll(async () => {
    idp = await FakeIdp.start();
    const key = await idp.addKey('ES256');
    idp.login = { clientId: 'llm-console', key, claims: { sub: 'ada', aud: AUDIENCE, roles: ['admin'] } };
    h = await startAdminHarness(['m'], { identity: { ...identityConfig(idp), console: { clientId: 'llm-console' } } });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await idp?.close();
  });

  it('tells the page the provider and lets it reach the provider only', async () => {
    const res = await fetch(`${h.url}/ui/config.json`);
    expect(await res.json()).toEqual({ oidc: { issuer: idp.issuer, clientId: 'llm-console', scopes: ['openid', 'profile', 'email'] } });
    expect(res.headers.get('content-security-policy')).toContain(`connect-src 'self' ${idp.issuer};`);
  });

  it('signs in by authorization code with PKCE, and the token is the credential', async () => {
    const page = await browser.page();
    await page.goto(`${h.url}/ui/`);
    await page.getByRole('button', { name: `Sign in with ${new URL(idp.issuer).host}` }).click();
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    await page.locator('.who', { hasText: 'ada' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/ui/live');
    const [authorization] = idp.authorizations;
    expect(authorization).toMatchObject({ response_type: 'code', client_id: 'llm-console', redirect_uri: `${h.url}/ui/oidc/callback`, code_challenge_method: 'S256', scope: 'openid profile email' });
    expect(authorization?.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const credential = (await page.evaluate("sessionStorage.getItem('llm-gateway.console.credential')")) as string;
    expect(credential.split('.')).toHaveLength(3);
    // Nothing of the flow is left behind but the credential.
    expect(await page.evaluate('Object.keys(sessionStorage)')).toEqual(['llm-gateway.console.credential']);
    await page.close();
  });

  it('refuses an answer this tab did not ask for (a forged state)', async () => {
    const page = await browser.page();
    await page.goto(`${h.url}/ui/oidc/callback?code=x&state=forged`);
    await page.getByText(/Sign-in failed: no sign-in was started in this tab/).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.close();
  });
});
