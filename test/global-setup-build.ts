/**
 * Vitest global setup: tests that start `llm-gateway` as a child process (D-01, D-03, L-05
 * with workers and with Redis replicas) run dist/main.js, so dist must match src. Builds once per
 * run, and only when some file under src/ is newer than dist/main.js (unit-test runs pay one
 * directory walk).
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

function builtMtimeMs(): number {
  try {
    return statSync(join(root, 'dist', 'main.js')).mtimeMs;
  } catch {
    return 0;
  }
}

export default function setup(): void {
  if (builtMtimeMs() >= newestMtimeMs(join(root, 'src'))) return;
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
