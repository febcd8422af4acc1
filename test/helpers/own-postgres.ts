/**
 * A PostgreSQL server of the test's own, for tests that stop and restart the database (the
 * machine's server at 127.0.0.1:5432 is shared and never touched). initdb and postgres refuse to
 * run as root, so when the tests run as root they run as the `postgres` user, on a data
 * directory under the temp dir owned by it. Trust auth, 127.0.0.1 only, no Unix socket, a free
 * port; `stop` signals only the postmaster this helper started, by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from './redis.js';

export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

export interface OwnPostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string;
  readonly running: boolean;
  /** Fast shutdown (SIGINT to the postmaster: connections are terminated), waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it (if running) and removes the data directory. Idempotent. */
  destroy(): Promise<void>;
}

/** Whether this machine can run a server of our own (the binaries are installed). */
export function ownPostgresAvailable(): boolean {
  const ok = existsSync(join(POSTGRES_BIN, 'initdb')) && existsSync(join(POSTGRES_BIN, 'postgres'));
  if (!ok && process.env.CI === 'true') throw new Error(`CI=true but no PostgreSQL binaries in ${POSTGRES_BIN}`);
  if (!ok) console.warn(`[postgres outage tests] skipped: no PostgreSQL binaries in ${POSTGRES_BIN}`);
  return ok;
}

/** The uid/gid to run the server as: ours, unless we are root (then the `postgres` user's). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running as root, and there is no postgres user to run the test server as');
  return { uid: Number(uid), gid: Number(gid) };
}

function run(command: string, args: readonly string[], options: { cwd: string; user: { uid: number; gid: number } | undefined }, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { PATH: process.env.PATH, LANG: 'C' }, stdio: ['ignore', 'ignore', 'pipe'], ...options.user });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} failed (${signal ?? `exit ${code}`}): ${stderr}`));
    });
  });
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const user = runAs();
  const dir = await mkdtemp(join(tmpdir(), 'llm-gateway-own-pg-'));
  const data = join(dir, 'data');
  let child: ChildProcess | undefined;
  let watchdog: ChildProcess | undefined;
  const killOnExit = (): void => {
    if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGQUIT');
  };
  process.once('exit', killOnExit);
  try {
    if (user) await chown(dir, user.uid, user.gid);
    await chmod(dir, 0o700);
    await run(join(POSTGRES_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], { cwd: dir, user }, 30_000);
  } catch (err) {
    process.removeListener('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort();

  const start = async (): Promise<void> => {
    if (child) throw new Error('already running');
    const settings = ['listen_addresses=127.0.0.1', `port=${port}`, 'unix_socket_directories=', 'fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'shared_buffers=16MB', 'max_connections=40', 'logging_collector=off'];
    const c = spawn(join(POSTGRES_BIN, 'postgres'), ['-D', data, ...settings.flatMap((s) => ['-c', s])], { cwd: dir, env: { PATH: process.env.PATH, LANG: 'C' }, stdio: ['ignore', 'ignore', 'pipe'], ...user });
    child = c;
    let log = '';
    // Ready when the server says so (no polling); a start that fails or stalls is reported with its log.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`postgres did not become ready in 20 s:\n${log}`)), 20_000);
      const done = (): void => {
        clearTimeout(timer);
        c.stderr?.removeListener('data', onData);
        c.removeListener('exit', onExit);
        c.removeListener('error', fail);
      };
      const onData = (d: Buffer): void => {
        log = (log + d.toString()).slice(-8_000);
        if (!log.includes('database system is ready to accept connections')) return;
        done();
        resolve();
      };
      const fail = (err: Error): void => {
        done();
        c.kill('SIGQUIT');
        reject(err);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(new Error(`postgres exited (${signal ?? `code ${code}`}):\n${log}`));
      c.stderr?.on('data', onData);
      c.once('exit', onExit);
      c.once('error', fail);
    }).catch((err: unknown) => {
      child = undefined;
      throw err;
    });
    // Keep draining its log so the pipe never fills and blocks the server.
    c.stderr?.resume();
    // If this process dies without cleaning up (killed by a signal: no 'exit' handler runs), the
    // watchdog's stdin closes and it stops the server, so no server outlives the test run.
    watchdog = spawn('/bin/sh', ['-c', 'read -r _; kill -INT "$0" 2>/dev/null', String(c.pid)], { stdio: ['pipe', 'ignore', 'ignore'], ...user });
    watchdog.unref();
    (watchdog.stdin as Socket | null)?.unref();
  };
  const stopWatchdog = async (): Promise<void> => {
    const w = watchdog;
    watchdog = undefined;
    if (!w || w.exitCode !== null || w.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.kill('SIGKILL');
    await exited;
  };

  const stop = async (): Promise<void> => {
    await stopWatchdog();
    const c = child;
    if (!c) return;
    child = undefined;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGINT');
    // Fast shutdown takes well under a second; an immediate one (SIGQUIT) if it does not.
    const timer = setTimeout(() => c.kill('SIGQUIT'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await start();
  } catch (err) {
    process.removeListener('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let destroyed = false;
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stop();
      process.removeListener('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
