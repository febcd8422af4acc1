/**
 * Real gateway processes for multi-replica tests (L-05): `node dist/main.js serve`. The vitest
 * global setup (test/global-setup-build.ts) rebuilds dist/ when src/ is newer, so the processes
 * run the code under test. Each process is stopped by its own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { freePort } from './redis.js';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface GatewayProcess {
  readonly url: string;
  readonly pid: number;
  /** Output so far (for failure messages). */
  output(): string;
  /** SIGKILL, then waits for the exit. */
  stop(): Promise<void>;
  /** SIGTERM (a graceful drain), then waits for the exit; resolves with the exit code. */
  terminate(timeoutMs?: number): Promise<number | null>;
}

/**
 * Starts `serve --config FILE --port <free> [args…]` and waits until /ready answers 200 (with
 * `--workers N`, also until the primary logged that every worker listens; needs logging level
 * info or lower). `waitFor: '/health'`: only until it listens (a gateway whose control-plane
 * database is down serves config keys but is not ready).
 */
export async function startGatewayProcess(configPath: string, env: NodeJS.ProcessEnv = {}, args: readonly string[] = [], options: { waitFor?: '/ready' | '/health' } = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [MAIN, 'serve', '--config', configPath, '--host', '127.0.0.1', '--port', String(port), ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  const terminate = async (timeoutMs = 20_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  // Generous: on a busy machine a `--workers` group takes a while to fork and listen.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await request(`${url}${options.waitFor ?? '/ready'}`);
      await res.body.text();
      const workersUp = !args.includes('--workers') || output.includes('all workers listening');
      if (res.statusCode === 200 && workersUp) return { url, pid: child.pid ?? -1, output: () => output, stop, terminate };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`gateway did not become ready:\n${output}`);
}
