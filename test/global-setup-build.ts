/**
 * Vitest global setup: tests that start `llm-gateway` as a child process (D-01, D-03, L-05
 * with workers and with Redis replicas) run dist/main.js, so dist must match src; the console's
 * tests load dist/console/, which must match console/. Builds once per run, and only what is
 * older than its sources (unit-test runs pay two directory walks).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtimeMs(path));
    // Tests are not part of the build (tsconfig.build.json), so editing one needs no rebuild.
    else if (!/(\.test|-contract)\.ts$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtMtimeMs(file: string): number {
  try {
    return statSync(join(root, 'dist', file)).mtimeMs;
  } catch {
    return 0;
  }
}

export default function setup(): void {
  if (builtMtimeMs('main.js') < newestMtimeMs(join(root, 'src'))) {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }
  if (builtMtimeMs(join('console', 'index.html')) < newestMtimeMs(join(root, 'console'))) {
    execFileSync(process.execPath, [join(root, 'console', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  }
}
