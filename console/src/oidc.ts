/**
 * Sign-in with the company's identity provider: the authorization-code flow with PKCE (a public
 * client, no secret), endpoints from the issuer's discovery document. The verifier and state
 * live in sessionStorage between leaving for the provider and coming back to
 * /ui/oidc/callback; the access token it returns becomes the console's credential.
 */

export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
}

interface Pending {
  readonly state: string;
  readonly verifier: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
}

const PENDING_KEY = 'llm-gateway.console.oidc';
export const CALLBACK_PATH = '/oidc/callback';

/** What /ui/config.json says (null: paste a credential only). */
export async function loadOidcSettings(): Promise<OidcSettings | null> {
  const res = await fetch('/ui/config.json', { cache: 'no-store', credentials: 'omit' });
  if (!res.ok) return null;
  return ((await res.json()) as { oidc: OidcSettings | null }).oidc;
}

function redirectUri(): string {
  return `${location.origin}/ui${CALLBACK_PATH}`;
}

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random(n: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(n)));
}

async function discover(issuer: string): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { credentials: 'omit', signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`the identity provider's discovery document answered ${res.status}`);
  const doc = (await res.json()) as { authorization_endpoint?: unknown; token_endpoint?: unknown };
  if (typeof doc.authorization_endpoint !== 'string' || typeof doc.token_endpoint !== 'string') throw new Error('the discovery document names no authorization or token endpoint');
  for (const u of [doc.authorization_endpoint, doc.token_endpoint]) {
    const url = new URL(u);
    if (url.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error(`refusing a non-https endpoint: ${url.origin}`);
  }
  return { authorization_endpoint: doc.authorization_endpoint, token_endpoint: doc.token_endpoint };
}

/** Leaves for the provider's login page. */
export async function startOidc(settings: OidcSettings): Promise<void> {
  const endpoints = await discover(settings.issuer);
  const verifier = random(32);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const state = random(16);
  const pending: Pending = { state, verifier, tokenEndpoint: endpoints.token_endpoint, clientId: settings.clientId };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(endpoints.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: settings.clientId,
    redirect_uri: redirectUri(),
    scope: settings.scopes.join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/** Back from the provider: checks the state, trades the code for an access token. */
export async function finishOidc(): Promise<string> {
  const q = new URLSearchParams(location.search);
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (q.get('error')) throw new Error(`the identity provider refused: ${q.get('error_description') ?? q.get('error')}`);
  if (!raw) throw new Error('no sign-in was started in this tab');
  const pending = JSON.parse(raw) as Pending;
  const code = q.get('code');
  if (!code || q.get('state') !== pending.state) throw new Error('the answer does not match the sign-in this tab started');
  const res = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    credentials: 'omit',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri(), client_id: pending.clientId, code_verifier: pending.verifier }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; error?: string; error_description?: string };
  if (!res.ok || typeof body.access_token !== 'string') throw new Error(`the token endpoint refused: ${body.error_description ?? body.error ?? res.status}`);
  return body.access_token;
}
