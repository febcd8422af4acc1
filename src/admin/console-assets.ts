import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestScope } from '../http/request-scope.js';
import { surfaces, type Route } from '../http/routes.js';

/**
 * The web console (docs/console.md): the static files `npm run build` writes to dist/console/,
 * served at /ui on the listener that serves the admin API. The page itself needs no credential;
 * every call it makes goes to the admin API, which checks one. The files are small: read once
 * at start, never per request.
 */

/** dist/console/ from this module, compiled (dist/admin/) or run from source (src/admin/). */
export const consoleDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'console');

/** Bounds on what is read into memory: the console is about 100 KiB; this is far above it. */
const MAX_FILES = 64;
const MAX_TOTAL_BYTES = 4 * 1024 * 1024;
/** A longer path under /ui names nothing the console has. */
const MAX_PATH_CHARS = 256;

const types: Readonly<Record<string, string>> = {
  json: 'application/json; charset=utf-8',
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  txt: 'text/plain; charset=utf-8',
};

/**
 * Headers on every answer under /ui: the page loads only its own files and talks only to its
 * origin, and, with sign-in by the identity provider, to the provider's origin (discovery and
 * the token endpoint).
 */
function securityHeaders(idpOrigin: string | undefined): Readonly<Record<string, string>> {
  const connect = idpOrigin === undefined ? "'self'" : `'self' ${idpOrigin}`;
  return {
    'content-security-policy': `default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src ${connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}

/** The console's sign-in with the identity provider (`identity.console`), told to the page by /ui/config.json. */
export interface ConsoleSignIn {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
}

interface Asset {
  readonly type: string;
  readonly body: string;
  /** Hashed names (`assets/main-3F2A9C1B.js`) never change content: cached for a year. */
  readonly immutable: boolean;
}

export interface ConsoleAssets {
  /** Files by path under dist/console/ (`index.html`, `assets/main-….js`). Empty when not built. */
  readonly files: ReadonlyMap<string, Asset>;
}

/**
 * Reads dist/console/ (index.html and assets/). A gateway run from a checkout that was never
 * built serves a page saying so instead of failing to start: the admin API works without it.
 */
export async function loadConsoleAssets(dir: string = consoleDir): Promise<ConsoleAssets> {
  const files = new Map<string, Asset>();
  let total = 0;
  const add = async (rel: string): Promise<void> => {
    const ext = rel.slice(rel.lastIndexOf('.') + 1);
    const type = types[ext];
    if (type === undefined) return;
    if (files.size >= MAX_FILES) throw new Error(`dist/console holds more than ${MAX_FILES} files; it is not the console build`);
    const body = await readFile(join(dir, rel), 'utf8');
    total += Buffer.byteLength(body);
    if (total > MAX_TOTAL_BYTES) throw new Error(`dist/console holds more than ${MAX_TOTAL_BYTES} bytes; it is not the console build`);
    files.set(rel, { type, body, immutable: rel.startsWith('assets/') });
  };
  try {
    await add('index.html');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files };
    throw err;
  }
  let names: string[] = [];
  try {
    names = await readdir(join(dir, 'assets'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const name of names.sort()) await add(`assets/${name}`);
  return { files };
}

const notBuilt = '<!doctype html><meta charset="utf-8"><title>llm-gateway console</title><p>The console is not built: run <code>npm run build</code>.</p>';

/**
 * The /ui routes: `/ui`, `/ui/` and every path under it (pages fall back to index.html), and
 * `/ui/config.json`, what the page needs to know before sign-in (public: no secret in it).
 */
export function consoleRoutes(built: ConsoleAssets, signIn?: ConsoleSignIn): Route[] {
  const headers = securityHeaders(signIn === undefined ? undefined : new URL(signIn.issuer).origin);
  const config = JSON.stringify({ oidc: signIn === undefined ? null : { issuer: signIn.issuer, clientId: signIn.clientId, scopes: signIn.scopes } });
  const files = new Map(built.files);
  files.set('config.json', { type: 'application/json; charset=utf-8', body: config, immutable: false });
  const assets: ConsoleAssets = { files };
  const handler = (scope: RequestScope): void => serve(scope, assets, scope.params[0] ?? '', headers);
  return [
    { method: 'GET', path: '/ui', surface: surfaces.operator, handler },
    { method: 'GET', path: '/ui/*', surface: surfaces.operator, handler },
  ];
}

function serve(scope: RequestScope, assets: ConsoleAssets, raw: string, securityHeaders: Readonly<Record<string, string>>): void {
  const name = assetName(raw);
  if (name === undefined) throw new GatewayError('not_found', 'No such console file.');
  const file = assets.files.get(name);
  if (file !== undefined) {
    scope.text(200, file.type, file.body, { ...securityHeaders, 'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache' });
    return;
  }
  // A file name (a dot in the last segment) or anything under assets/ that is not there is a
  // 404; every other path is one of the console's pages, which the page's own router draws.
  const last = name.slice(name.lastIndexOf('/') + 1);
  if (name.startsWith('assets/') || last.includes('.')) throw new GatewayError('not_found', 'No such console file.');
  const index = assets.files.get('index.html');
  scope.text(index ? 200 : 503, 'text/html; charset=utf-8', index?.body ?? notBuilt, { ...securityHeaders, 'cache-control': 'no-cache' });
}

/**
 * The decoded path under /ui, or undefined when it cannot name a console file: too long, not
 * decodable, or holding `..`, a backslash or a control character (NUL included). Files are only
 * ever looked up in the map read at start, so nothing outside dist/console can be named anyway.
 */
export function assetName(raw: string): string | undefined {
  if (raw.length > MAX_PATH_CHARS) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (/[\u0000-\u001f\u007f\\]/.test(name) || name.split('/').some((s) => s === '..' || s === '.')) return undefined;
  return name === '' ? 'index.html' : name;
}
