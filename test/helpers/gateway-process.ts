/**
 * Real gateway processes for multi-replica tests (L-05): `node <build>/main.js serve`. The
 * processes must run the code under test: dist/ is used when it is newer than every source file
 * (`npm ci` and `npm run build` make it so, as in CI); otherwise the sources are compiled
 * incrementally into node_modules/.cache (never over dist/, which someone may be using): slow
 * the first time on a busy machine, quick after that. Each process is stopped by its own pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { freePort } from './redis.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Build {
  readonly dir: string;
  readonly main: string;
  remove(): void;
}

/** dist/ when it is up to date with src/, else an incremental build in node_modules/.cache. */
export function buildGateway(): Build {
  const distMain = join(ROOT, 'dist', 'main.js');
  if (existsSync(distMain) && statSync(distMain).mtimeMs > newestSource(join(ROOT, 'src'))) {
    return { dir: join(ROOT, 'dist'), main: distMain, remove: () => undefined };
  }
  // Inside node_modules, so the build resolves the repository's packages by walking up.
  const dir = join(ROOT, 'node_modules', '.cache', 'llm-gateway-test-build');
  mkdirSync(dir, { recursive: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist'), '--declaration', 'false', '--sourceMap', 'false', '--incremental', '--tsBuildInfoFile', join(dir, 'tsbuildinfo')];
  const out = spawnSync(process.execPath, [tsc, ...args], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`build failed:\n${out.stdout}\n${out.stderr}`);
  // ESM scope for the build, and the version src/version.ts reads from ../package.json.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', version: '0.0.0-test' }));
  return { dir, main: join(dir, 'dist', 'main.js'), remove: () => undefined };
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export interface GatewayProcess {
  readonly url: string;
  readonly pid: number;
  /** Output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts `serve --config FILE --port <free>` and waits until /ready answers 200. */
export async function startGatewayProcess(build: Build, configPath: string, env: NodeJS.ProcessEnv = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [build.main, 'serve', '--config', configPath, '--host', '127.0.0.1', '--port', String(port)], {
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
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await request(`${url}/ready`);
      await res.body.text();
      if (res.statusCode === 200) return { url, pid: child.pid ?? -1, output: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`gateway did not become ready:\n${output}`);
}
