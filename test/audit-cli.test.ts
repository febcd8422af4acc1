/**
 * `llm-gateway audit verify|export --config FILE` as real processes (dist/main.js): beside a
 * running gateway on PostgreSQL, against the embedded store (refused while a gateway holds it,
 * with the admin endpoint to use instead; read once it is free), and never creating or migrating
 * anything. Exit codes: 0 sound, 1 broken, 2 usage, 3 cannot check.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, admin } from './helpers/admin.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { createTestDatabase, sharedPostgresAvailable } from './helpers/postgres.js';
import { freePort } from './helpers/redis.js';

const mainJs = resolve(import.meta.dirname, '..', 'dist', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'llm-gateway-audit-cli-'));
const env = { GATEWAY_ADMIN_KEY: ADMIN_KEY };
const pgAvailable = await sharedPostgresAvailable();
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[], deadlineMs = 30_000): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [mainJs, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.once('error', fail);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

let files = 0;
function writeConfig(extra: Record<string, unknown>): string {
  const path = join(dir, `config-${files++}.yaml`);
  const config = {
    server: { host: '127.0.0.1', port: 0 },
    logging: { level: 'warn' },
    deployments: { a: { provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1' } },
    models: { m: { targets: [{ deployment: 'a', model: 'x' }] } },
    admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
    ...extra,
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

async function someChanges(url: string): Promise<void> {
  for (const name of ['alpha', 'beta']) expect((await admin(url, 'POST', '/teams', { name, models: ['m'] })).status).toBe(201);
  const key = await admin(url, 'POST', '/keys', { team: 'alpha' });
  expect(key.status).toBe(201);
  expect((await admin(url, 'DELETE', `/keys/${key.body.id}`)).status).toBe(200);
}

async function sql(url: string, text: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

describe('audit CLI: usage', () => {
  it('exits 2 with the usage for a missing subcommand, config or a misplaced option', async () => {
    for (const args of [['audit'], ['audit', 'verify'], ['audit', 'frobnicate', '--config', 'x'], ['audit', 'verify', '--config', 'x', '--since', '2026-01-01T00:00:00Z'], ['audit', 'verify', '--config', 'x', '--anchor', '12:abc'], ['audit', 'export', '--config', 'x', '--limit', '0']]) {
      const run = await runCli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('llm-gateway audit verify --config FILE');
    }
    const help = await runCli(['audit', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('llm-gateway audit export --config FILE');
  });

  it('exits 3 for a config without a control plane, and for an embedded :memory: store', async () => {
    const none = await runCli(['audit', 'verify', '--config', writeConfig({ admin: undefined })]);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/no control plane/);
    const memory = await runCli(['audit', 'verify', '--config', writeConfig({ server: { host: '127.0.0.1', port: 8123 }, state: { database: { dataDir: ':memory:' } } })]);
    expect(memory.code).toBe(3);
    expect(memory.stderr).toContain('GET http://127.0.0.1:8123/admin/v1/audit/verify');
  });
});

describe.skipIf(!pgAvailable)('audit CLI on a PostgreSQL server', () => {
  it('refuses a database that was never migrated, and leaves it so', async () => {
    const db = await createTestDatabase('audit_cli_empty');
    cleanups.push(db.drop);
    const run = await runCli(['audit', 'verify', '--config', writeConfig({ state: { database: { url: db.url } } }), '--json']);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/no llm-gateway schema/);
    expect(JSON.parse(run.stdout)).toEqual({ error: expect.stringMatching(/no llm-gateway schema/) });
    expect(await sql(db.url, "SELECT to_regclass('schema_migrations')::text AS t, to_regclass('audit_log')::text AS a")).toEqual([{ t: null, a: null }]);
  });

  it('verifies and exports beside a running gateway, and names the first bad entry after an edit in SQL', async () => {
    const db = await createTestDatabase('audit_cli');
    cleanups.push(db.drop);
    const config = writeConfig({ state: { database: { url: db.url } } });
    const gateway: GatewayProcess = await startGatewayProcess(config, env);
    cleanups.push(() => gateway.stop());
    await someChanges(gateway.url);

    const ok = await runCli(['audit', 'verify', '--config', config]);
    expect(ok.code, ok.stderr).toBe(0);
    const entries = Number(/verified: (\d+) entries \(postgres store\)/.exec(ok.stdout)?.[1]);
    expect(entries).toBeGreaterThanOrEqual(4);
    const head = /^head (\d+:[0-9a-f]{64})$/m.exec(ok.stdout)?.[1];
    expect(head).toBeDefined();

    // Machine output, with the head just printed as an anchor (the gateway keeps appending: bootstrap.used).
    const json = await runCli(['audit', 'verify', '--config', config, '--json', '--anchor', head as string]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, store: 'postgres', head: { seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) } });

    const exported = await runCli(['audit', 'export', '--config', config]);
    expect(exported.code, exported.stderr).toBe(0);
    const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(lines.map((l) => l.action)).toEqual(expect.arrayContaining(['team.created', 'key.created', 'key.revoked', 'bootstrap.used']));
    expect(lines[0]).toMatchObject({ at: expect.stringMatching(/Z$/), prevHash: '0'.repeat(64), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const page = await runCli(['audit', 'export', '--config', config, '--after', '2', '--limit', '2']);
    expect(page.stdout.trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([3, 4]);
    const future = await runCli(['audit', 'export', '--config', config, '--since', '2999-01-01T00:00:00Z']);
    expect([future.code, future.stdout]).toEqual([0, '']);
    const since = await runCli(['audit', 'export', '--config', config, '--since', lines[2].at]);
    expect(JSON.parse(since.stdout.split('\n')[0] as string).seq).toBeLessThanOrEqual(3);
    expect((await runCli(['audit', 'export', '--config', config, '--since', 'yesterday'])).code).toBe(2);

    await sql(db.url, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2");
    const broken = await runCli(['audit', 'verify', '--config', config]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('audit log does NOT verify: first bad entry 2 (changed)');
    expect(broken.stdout).toContain('1 entry before it verified.');
    expect(broken.stdout).toMatch(/entry 2 as stored: \{"seq":2,.*"actor":"someone-else"/);
    const brokenJson = JSON.parse((await runCli(['audit', 'verify', '--config', config, '--json'])).stdout);
    expect(brokenJson).toMatchObject({ ok: false, entries: 1, firstBad: { seq: 2, problem: 'changed' }, entry: { seq: 2, actor: 'someone-else' } });
    // The gateway's own endpoint agrees.
    expect((await admin(gateway.url, 'GET', '/audit/verify')).body).toMatchObject({ ok: false, firstBad: { seq: 2, problem: 'changed' } });
    // Read-only: the check wrote nothing (no new entry, no migration) and the gateway kept serving.
    expect((await admin(gateway.url, 'GET', '/teams/alpha')).status).toBe(200);
  }, 120_000);

  it('exits 3 when the server cannot be reached, without printing the password', async () => {
    const port = await freePort();
    const run = await runCli(['audit', 'verify', '--config', writeConfig({ state: { database: { url: `postgres://admin:hunter2-secret@127.0.0.1:${port}/x`, connectTimeoutMs: 1_000 } } })]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/ECONNREFUSED|connect/);
    expect(run.stderr + run.stdout).not.toContain('hunter2-secret');
  });
});

describe('audit CLI on the embedded store', () => {
  it('does not create a data directory that does not exist', async () => {
    const dataDir = join(dir, 'never-created');
    const run = await runCli(['audit', 'verify', '--config', writeConfig({ state: { database: { dataDir } } })]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/no embedded database/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('is refused while a gateway holds the store (pointing at the admin endpoint), and reads it once the gateway is gone', async () => {
    const dataDir = join(dir, 'embedded');
    const config = writeConfig({ state: { database: { dataDir } } });
    const gateway = await startGatewayProcess(config, env);
    cleanups.push(() => gateway.stop());
    await someChanges(gateway.url);
    const held = await runCli(['audit', 'verify', '--config', config]);
    expect(held.code).toBe(3);
    expect(held.stderr).toContain(`held by a running gateway (process ${gateway.pid})`);
    expect(held.stderr).toContain('/admin/v1/audit/verify');
    const viaApi = await admin(gateway.url, 'GET', '/audit/verify');
    expect(viaApi.body).toMatchObject({ ok: true });
    // A crash leaves the lock file behind; its process is gone, so the CLI may take the store.
    await gateway.stop();
    const run = await runCli(['audit', 'verify', '--config', config, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, store: 'embedded' });
    expect(JSON.parse(run.stdout).entries).toBeGreaterThanOrEqual(viaApi.body.entries);
    const exported = await runCli(['audit', 'export', '--config', config, '--limit', '3']);
    expect(exported.stdout.trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([1, 2, 3]);
  }, 120_000);
});
