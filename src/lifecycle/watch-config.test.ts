import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchConfigFile } from './watch-config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function changes(): { count: () => number; onChange: () => void; waitFor: (n: number) => Promise<void> } {
  let n = 0;
  return {
    count: () => n,
    onChange: () => void n++,
    waitFor: async (target) => {
      const end = Date.now() + 5_000;
      while (n < target && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

describe('watchConfigFile', () => {
  it('fires on a rewrite and on an editor-style replace by rename, not when the content is unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watch-'));
    dirs.push(dir);
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'a: 1\n');
    const c = changes();
    const stop = await watchConfigFile(file, c.onChange, () => undefined);
    try {
      writeFileSync(file, 'a: 2\n');
      await c.waitFor(1);
      expect(c.count()).toBe(1);
      writeFileSync(join(dir, 'config.yaml.tmp'), 'a: 3\n');
      renameSync(join(dir, 'config.yaml.tmp'), file);
      await c.waitFor(2);
      expect(c.count()).toBe(2);
      writeFileSync(file, 'a: 3\n');
      writeFileSync(join(dir, 'other.txt'), 'x');
      await new Promise((r) => setTimeout(r, 400));
      expect(c.count()).toBe(2);
    } finally {
      stop();
    }
  });

  it('fires when a Kubernetes ConfigMap volume swaps its ..data symlink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watch-k8s-'));
    dirs.push(dir);
    for (const [version, text] of [['..v1', 'a: 1\n'], ['..v2', 'a: 2\n']] as const) {
      mkdirSync(join(dir, version));
      writeFileSync(join(dir, version, 'config.yaml'), text);
    }
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'config.yaml'), join(dir, 'config.yaml'));
    const c = changes();
    const stop = await watchConfigFile(join(dir, 'config.yaml'), c.onChange, () => undefined);
    try {
      // What the kubelet does: a new symlink, renamed over ..data in one step.
      symlinkSync('..v2', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      await c.waitFor(1);
      expect(c.count()).toBe(1);
    } finally {
      stop();
    }
  });
});
