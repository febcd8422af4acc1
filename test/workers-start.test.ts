/**
 * `serve --workers N` at start: a config whose control plane uses the embedded database is
 * refused before anything is forked (one process owns that database), and a worker that fails
 * to start exits (code 1) so the primary restarts it, instead of hanging on its IPC channel.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const mainJs = resolve(import.meta.dirname, '..', 'dist', 'main.js');
const ADMIN_KEY = 'workers-start-admin-key-0123456789abcdef';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llm-gateway-workers-start-'));
  dirs.push(dir);
  return dir;
}

const base = {
  server: { host: '127.0.0.1', port: 0 },
  logging: { level: 'info', format: 'json' },
  deployments: { d: { provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1' } },
  models: { m: { targets: [{ deployment: 'd', model: 'x' }] } },
};

interface Run {
  readonly code: number | null;
  readonly output: string;
}

/**
 * Runs `serve --config … --workers 2 [args]` in `cwd`, until it exits or `until` matches its output
 * (then SIGTERM, and SIGKILL if it does not end within 10 s); a run longer than 20 s is killed and fails.
 */
function serveWorkers(cwd: string, config: unknown, args: readonly string[] = [], until?: RegExp): Promise<Run> {
  const configPath = join(cwd, 'config.yaml');
  writeFileSync(configPath, JSON.stringify(config));
  const child = spawn(process.execPath, [mainJs, 'serve', '--config', configPath, '--workers', '2', ...args], {
    cwd,
    env: { PATH: process.env.PATH, GATEWAY_ADMIN_KEY: ADMIN_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolveRun, reject) => {
    let kill: NodeJS.Timeout | undefined;
    const stop = (): void => {
      if (kill) return;
      child.kill('SIGTERM');
      kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    };
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (until?.test(output)) stop();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let overran = false;
    const deadline = setTimeout(() => {
      // Its workers exit when their primary's channel closes.
      overran = true;
      child.kill('SIGKILL');
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(deadline);
      clearTimeout(kill);
      if (overran) reject(new Error(`serve --workers 2 ran for 20 s:\n${output}`));
      else resolveRun({ code, output });
    });
  });
}

describe('serve --workers N with the control plane', () => {
  it('refuses the embedded store on disk at start, naming the key and what to do, and creates nothing', async () => {
    const cwd = tempDir();
    // `admin` alone turns the control plane on, on the default data directory ./llm-gateway-data.
    const run = await serveWorkers(cwd, { ...base, admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' } });
    expect(run.code, run.output).toBe(1);
    expect(run.output).toContain('state.database.dataDir: the embedded database (data directory ./llm-gateway-data) serves one process, and --workers 2 would open it from 2');
    expect(run.output).toContain('state.database.url or the DATABASE_URL environment variable');
    expect(run.output).not.toMatch(/^\s+at /m);
    expect(run.output).not.toContain('primary started');
    expect(existsSync(join(cwd, 'llm-gateway-data'))).toBe(false);
  }, 30_000);

  it("refuses ':memory:' too: each worker would have a database of its own", async () => {
    const run = await serveWorkers(tempDir(), { ...base, state: { database: { dataDir: ':memory:' } } });
    expect(run.code, run.output).toBe(1);
    expect(run.output).toContain("state.database.dataDir: ':memory:' gives each process a throw-away database of its own");
  }, 30_000);
});

describe('serve --workers N: a worker that cannot start', () => {
  let holder: Server | undefined;
  afterEach(() => {
    holder?.close();
    holder = undefined;
  });

  it('exits with code 1 and is restarted by the primary (it used to hang on its IPC channel)', async () => {
    holder = createServer();
    const port = await new Promise<number>((ok) => holder?.listen(0, '127.0.0.1', () => ok((holder?.address() as { port: number }).port)));
    const run = await serveWorkers(tempDir(), base, ['--host', '127.0.0.1', '--port', String(port)], /worker died; restarting/);
    expect(run.output).toContain('EADDRINUSE');
    const died = run.output.split('\n').find((l) => l.includes('worker died; restarting'));
    expect(JSON.parse(died as string)).toMatchObject({ code: 1, signal: null });
  }, 30_000);
});
