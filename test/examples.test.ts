import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createGateway, type Gateway } from '../src/app.js';
import { loadConfig, resolveConfig } from '../src/config/load.js';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';

const EXAMPLES = new URL('../examples/', import.meta.url);
const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();

/**
 * Every `${env:NAME}` the file references, set to a dummy value (a Redis URL for REDIS_URL names;
 * long enough for a bootstrap admin key, which needs 32 characters).
 */
function dummyEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    const name = m[1] as string;
    env[name] = name.endsWith('REDIS_URL') ? 'redis://dummy:6379' : `dummy-${name}-0123456789abcdef0123456789abcdef`;
  }
  return env;
}

describe('examples/*.yaml', () => {
  it('there is at least one example', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s passes loadConfig', async (name) => {
    const path = fileURLToPath(new URL(name, EXAMPLES));
    const env = dummyEnv(readFileSync(path, 'utf8'));
    const config = await loadConfig(path, env);
    expect(Object.keys(config.models).length).toBeGreaterThan(0);
    expect(Object.isFrozen(config)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// examples/control-plane.yaml: the walk-through in its header comment, run as written.

const CONTROL_PLANE = fileURLToPath(new URL('control-plane.yaml', EXAMPLES));
const controlPlaneText = readFileSync(CONTROL_PLANE, 'utf8');
/** Where the walk-through's curl commands send their requests. */
const DOC_URL = 'http://127.0.0.1:8080';

/** One `curl` of the walk-through, the status the comment says it gets, and what to keep from its answer. */
interface Step {
  readonly line: number;
  readonly command: string;
  readonly status: number;
  /** `export NAME=<field>` after the step: the variable NAME takes the answer's `field`. */
  readonly exports: ReadonlyArray<{ readonly name: string; readonly field: string }>;
}

/**
 * The header's steps: a line `curl …` (continued while a line ends in ` \`), then `→ <status> …`,
 * then optionally `export NAME=<field> …`.
 */
function walkThrough(text: string): Step[] {
  const header: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    header.push(line.replace(/^#\s?/, '').trim());
  }
  const steps: Step[] = [];
  for (let i = 0; i < header.length; i++) {
    if (!header[i]?.startsWith('curl ')) continue;
    const line = i + 1;
    let command = header[i] as string;
    while (command.endsWith('\\')) command = `${command.slice(0, -1).trimEnd()} ${header[++i] ?? ''}`;
    const status = /^→ (\d{3})\b/.exec(header[i + 1] ?? '');
    if (!status) throw new Error(`control-plane.yaml line ${line}: a curl command must be followed by "→ <status> …"`);
    i++;
    const exports: Array<{ name: string; field: string }> = [];
    if (header[i + 1]?.startsWith('export ')) {
      for (const m of (header[++i] as string).matchAll(/\b([A-Z_]+)=<(\w+)>/g)) exports.push({ name: m[1] as string, field: m[2] as string });
    }
    steps.push({ line, command, status: Number(status[1]), exports });
  }
  return steps;
}

/** Shell words as sh would split them: '…' literal, "…" and bare words with $NAME expanded. */
function shellWords(command: string, vars: ReadonlyMap<string, string>): string[] {
  const expand = (s: string): string =>
    s.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
      const value = vars.get(name);
      if (value === undefined) throw new Error(`$${name} is used before the walk-through sets it: ${command}`);
      return value;
    });
  const words: string[] = [];
  for (const m of command.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) {
    words.push(m[1] ?? expand(m[2] ?? m[3] ?? ''));
  }
  return words;
}

interface CurlRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/** The request a curl command line makes; only the options the walk-through uses are understood. */
function curlRequest(command: string, vars: ReadonlyMap<string, string>): CurlRequest {
  const [curl, ...args] = shellWords(command, vars);
  expect(curl).toBe('curl');
  let method: string | undefined;
  let url: string | undefined;
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-s') continue;
    if (arg === '-X') method = args[++i];
    else if (arg === '-H') {
      const [name = '', ...value] = (args[++i] ?? '').split(':');
      headers[name.trim().toLowerCase()] = value.join(':').trim();
    } else if (arg === '-d') body = args[++i];
    else if (!arg.startsWith('-') && url === undefined) url = arg;
    else throw new Error(`curl option the test does not know: ${arg} in ${command}`);
  }
  if (url === undefined) throw new Error(`no URL in ${command}`);
  // curl sends POST when there is a body and no -X.
  return { method: method ?? (body === undefined ? 'GET' : 'POST'), url, headers, body };
}

async function send(req: CurlRequest, base: string): Promise<{ status: number; text: string; body: any }> {
  expect(req.url.startsWith(DOC_URL), req.url).toBe(true);
  const res = await request(base + req.url.slice(DOC_URL.length), {
    method: req.method as 'GET',
    headers: req.headers,
    ...(req.body === undefined ? {} : { body: req.body }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.statusCode, text, body };
}

describe('examples/control-plane.yaml: the walk-through in its header', () => {
  const ADMIN_KEY = 'walk-through-admin-key-0123456789abcdef0123';
  const env = { GATEWAY_ADMIN_KEY: ADMIN_KEY };
  const example = parse(controlPlaneText) as Record<string, any>;
  let fake: FakeUpstream;
  let dataDir: string;
  let gateway: Gateway | undefined;
  let url: string;

  /** The example as written, but on port 0, on the in-process fake, and with a temporary data directory. */
  async function start(): Promise<void> {
    const config = structuredClone(example);
    config.server.port = 0;
    config.deployments['local-openai'].baseUrl = fake.baseUrl;
    config.state.database.dataDir = dataDir;
    gateway = createGateway(resolveConfig(config, env), { logger: pino({ level: 'silent' }) });
    url = (await gateway.listen({ host: '127.0.0.1', port: 0 })).url;
  }

  beforeAll(async () => {
    fake = await FakeUpstream.start({ dialect: 'openai' });
    dataDir = join(mkdtempSync(join(tmpdir(), 'llm-gateway-example-')), 'llm-gateway-data');
    await start();
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  });

  it('describes the example as configured: the fake on port 9001, the gateway on 8080, the admin API on it, the default data directory', () => {
    expect(controlPlaneText).toContain('npx llm-gateway fake-upstream --dialect openai --port 9001 &');
    expect(controlPlaneText).toContain('npx llm-gateway serve --config examples/control-plane.yaml');
    expect(example.deployments['local-openai']).toEqual({ provider: 'openai', baseUrl: 'http://127.0.0.1:9001/v1' });
    expect(example.server).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(Object.keys(example.models)).toEqual(['gpt-mini']);
    expect(example.admin).toEqual({ bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' });
    expect(example.state).toEqual({ database: { dataDir: './llm-gateway-data' } });
    // The default of the schema, so the README and docs name one directory.
    expect(resolveConfig({ ...example, state: {} }, env).state.database?.dataDir).toBe('./llm-gateway-data');
  });

  it('runs every step with the status its comment states: team, key, call, list, rotate, call, revoke, refused, audit, verify', async () => {
    const steps = walkThrough(controlPlaneText);
    const vars = new Map([['GATEWAY_ADMIN_KEY', ADMIN_KEY]]);
    const done: string[] = [];
    // Step 4, sent again with the first secret after the rotation and after the revocation.
    const callWithKey = steps.find((s) => s.command.includes('"Authorization: Bearer $KEY"'))?.command as string;
    let issued: { key: string; id: string } | undefined;
    for (const step of steps) {
      const req = curlRequest(step.command, vars);
      const res = await send(req, url);
      const path = new URL(req.url).pathname.replace(/key_[0-9a-f]+/, '{id}');
      expect(res.status, `line ${step.line}: ${step.command}\n${res.text}`).toBe(step.status);
      done.push(`${req.method} ${path} ${res.status}`);
      for (const { name, field } of step.exports) {
        expect(typeof res.body?.[field], `line ${step.line}: the answer has no "${field}" for ${name}`).toBe('string');
        vars.set(name, res.body[field]);
      }
      // What the comments claim besides the status.
      if (req.method === 'POST' && path === '/admin/v1/keys') issued = { key: res.body.key, id: res.body.id };
      if (req.method === 'GET' && path === '/admin/v1/keys') {
        expect(res.body.data).toEqual([expect.objectContaining({ id: issued?.id, prefix: issued?.key.slice(0, 12) })]);
        expect(res.text).not.toContain(issued?.key);
      }
      if (path.endsWith('/rotate')) {
        // The old secret keeps working during the grace period.
        const old = await send(curlRequest(callWithKey, vars), url);
        expect(old.status, old.text).toBe(200);
      }
      if (req.method === 'DELETE') {
        expect(res.body.revokedAt).toEqual(expect.any(String));
        const old = await send(curlRequest(callWithKey, vars), url);
        expect(old.status, 'the pre-rotation secret is refused too').toBe(401);
      }
      if (path === '/admin/v1/audit') {
        expect(res.body.data[0]).toMatchObject({ actor: 'bootstrap', action: 'key.revoked', targetType: 'key', targetId: issued?.id });
        expect(res.text).not.toContain(issued?.key);
        expect(res.text).not.toContain(ADMIN_KEY);
      }
      if (path === '/admin/v1/audit/verify') expect(res.body).toMatchObject({ ok: true, entries: expect.any(Number) });
    }
    expect(done).toEqual([
      'POST /admin/v1/teams 201',
      'POST /admin/v1/keys 201',
      'POST /v1/chat/completions 200',
      'GET /admin/v1/keys 200',
      'POST /admin/v1/keys/{id}/rotate 200',
      'POST /v1/chat/completions 200',
      'DELETE /admin/v1/keys/{id} 200',
      'POST /v1/chat/completions 401',
      'GET /admin/v1/audit 200',
      'GET /admin/v1/audit/verify 200',
    ]);
    expect(fake.stats.requests).toBe(3);
  }, 60_000);

  it('keeps the team, the revoked key and the audit log across a restart (step 9)', async () => {
    await gateway?.close();
    gateway = undefined;
    await start();
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const teams = await send({ method: 'GET', url: `${DOC_URL}/admin/v1/teams`, headers: auth, body: undefined }, url);
    expect(teams.body.data).toEqual([expect.objectContaining({ name: 'search', source: 'api', models: ['gpt-mini'] })]);
    const keys = await send({ method: 'GET', url: `${DOC_URL}/admin/v1/keys?team=search&revoked=true`, headers: auth, body: undefined }, url);
    expect(keys.body.data).toEqual([expect.objectContaining({ name: 'laptop', revokedAt: expect.any(String) })]);
    const verify = await send({ method: 'GET', url: `${DOC_URL}/admin/v1/audit/verify`, headers: auth, body: undefined }, url);
    expect(verify.body).toMatchObject({ ok: true });
    expect(verify.body.entries).toBeGreaterThanOrEqual(4);
  }, 60_000);
});
