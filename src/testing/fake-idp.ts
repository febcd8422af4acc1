import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export type FakeIdpAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';

export interface FakeIdpKey {
  readonly kid: string;
  readonly alg: FakeIdpAlgorithm;
  readonly privateKey: CryptoKey;
  /** The public key as published in the JWKS (with kid, alg and use). */
  readonly publicJwk: JWK;
}

/**
 * How the JWKS endpoint answers: `ok` the published keys; `hang` never answers (the request is
 * held until the client gives up); `oversized` 2 MiB with a Content-Length; `oversizedChunked`
 * 2 MiB without one; `error` HTTP 500.
 */
export type JwksMode = 'ok' | 'hang' | 'oversized' | 'oversizedChunked' | 'error';

/**
 * An OpenID provider on loopback for tests: OIDC discovery at
 * `/.well-known/openid-configuration`, a JWKS at `/jwks`, keys generated in the process, and
 * counters of the requests each endpoint received. With `login` set it also signs people in by
 * the authorization-code flow with PKCE (`/authorize` answers at once, as if the person had
 * logged in; `/token` checks the code verifier and hands out an access token signed by
 * `login.key`), with the CORS headers a browser needs to reach `/token`.
 */
export class FakeIdp {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly requests = { discovery: 0, jwks: 0 };
  jwksMode: JwksMode = 'ok';
  /** Replaces the discovery document when set (to serve a wrong issuer or jwks_uri). */
  discoveryDocument: Record<string, unknown> | undefined;
  /** The client the authorization-code flow serves, and the access token it issues (its claims). */
  login: { readonly clientId: string; readonly key: FakeIdpKey; readonly claims: JWTPayload } | undefined;
  /** The authorization requests received (their query parameters). */
  readonly authorizations: Array<Record<string, string>> = [];
  readonly #codes = new Map<string, { challenge: string; redirectUri: string }>();

  readonly #server: Server;
  readonly #keys = new Map<string, FakeIdpKey>();
  #published: readonly string[] = [];
  readonly #held = new Set<ServerResponse>();
  readonly #heldClosed: Array<() => void> = [];
  #nextKid = 1;

  private constructor(server: Server, origin: string) {
    this.#server = server;
    this.issuer = origin;
    this.jwksUrl = `${origin}/jwks`;
  }

  static async start(): Promise<FakeIdp> {
    let idp: FakeIdp | undefined;
    const server = createServer((req, res) => idp?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    idp = new FakeIdp(server, `http://127.0.0.1:${port}`);
    return idp;
  }

  /** Generates a key pair; published in the JWKS unless `publish` is false. */
  async addKey(alg: FakeIdpAlgorithm, options: { kid?: string; publish?: boolean } = {}): Promise<FakeIdpKey> {
    const kid = options.kid ?? `key-${this.#nextKid++}`;
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const key: FakeIdpKey = { kid, alg, privateKey, publicJwk };
    this.#keys.set(kid, key);
    if (options.publish !== false) this.#published = [...this.#published, kid];
    return key;
  }

  /** Which keys the JWKS serves from now on (key rotation). */
  publish(kids: readonly string[]): void {
    this.#published = [...kids];
  }

  /** A compact JWT signed by `key`; `header` adds to or overrides the protected header. */
  async sign(key: FakeIdpKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey);
  }

  /** Resolves when a request held by `hang` mode has been closed by the client. */
  heldRequestClosed(): Promise<void> {
    return new Promise((resolve) => this.#heldClosed.push(resolve));
  }

  async close(): Promise<void> {
    for (const res of this.#held) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.issuer).pathname;
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      this.requests.discovery++;
      json(
        res,
        this.discoveryDocument ?? {
          issuer: this.issuer,
          jwks_uri: this.jwksUrl,
          authorization_endpoint: `${this.issuer}/authorize`,
          token_endpoint: `${this.issuer}/token`,
          code_challenge_methods_supported: ['S256'],
          id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
        },
        { 'access-control-allow-origin': '*' },
      );
      return;
    }
    if (req.method === 'GET' && path === '/authorize') {
      this.authorize(new URL(req.url ?? '/', this.issuer).searchParams, res);
      return;
    }
    if (path === '/token') {
      void this.token(req, res);
      return;
    }
    if (req.method === 'GET' && path === '/jwks') {
      this.requests.jwks++;
      this.serveJwks(res);
      return;
    }
    res.writeHead(404).end();
  }

  private authorize(q: URLSearchParams, res: ServerResponse): void {
    this.authorizations.push(Object.fromEntries(q));
    const redirectUri = q.get('redirect_uri');
    const challenge = q.get('code_challenge');
    if (!this.login || q.get('client_id') !== this.login.clientId || !redirectUri || q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !challenge) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid authorization request');
      return;
    }
    const code = randomBytes(16).toString('hex');
    this.#codes.set(code, { challenge, redirectUri });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.get('state') ?? '');
    res.writeHead(302, { location: back.toString() }).end();
  }

  private async token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type' };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'access-control-allow-methods': 'POST' }).end();
      return;
    }
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const form = new URLSearchParams(body);
    const code = this.#codes.get(form.get('code') ?? '');
    this.#codes.delete(form.get('code') ?? '');
    const verifier = form.get('code_verifier') ?? '';
    const ok = this.login && code && form.get('grant_type') === 'authorization_code' && form.get('client_id') === this.login.clientId && form.get('redirect_uri') === code.redirectUri && createHash('sha256').update(verifier).digest('base64url') === code.challenge;
    if (!ok || !this.login) {
      json(res, { error: 'invalid_grant' }, cors, 400);
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await this.sign(this.login.key, { iss: this.issuer, iat: now, exp: now + 3_600, ...this.login.claims });
    json(res, { access_token: accessToken, token_type: 'Bearer', expires_in: 3_600 }, cors);
  }

  private serveJwks(res: ServerResponse): void {
    const big = 2 * 1024 * 1024;
    switch (this.jwksMode) {
      case 'ok': {
        const keys = this.#published.flatMap((kid) => {
          const key = this.#keys.get(kid);
          return key === undefined ? [] : [key.publicJwk];
        });
        json(res, { keys });
        return;
      }
      case 'hang':
        this.#held.add(res);
        res.on('close', () => {
          this.#held.delete(res);
          for (const resolve of this.#heldClosed.splice(0)) resolve();
        });
        return;
      case 'oversized':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(big) });
        res.end(`{"keys":[],"pad":"${'x'.repeat(big - 20)}"}`);
        return;
      case 'oversizedChunked': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"keys":[],"pad":"');
        const chunk = 'x'.repeat(64 * 1024);
        for (let sent = 0; sent < big; sent += chunk.length) res.write(chunk);
        res.end('"}');
        return;
      }
      case 'error':
        res.writeHead(500).end('down');
        return;
    }
  }
}

function json(res: ServerResponse, body: unknown, headers: Record<string, string> = {}, status = 200): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}
