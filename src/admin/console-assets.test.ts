import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assetName, loadConsoleAssets } from './console-assets.js';

describe('assetName', () => {
  it('decodes the path under /ui; the empty path is index.html', () => {
    expect(assetName('')).toBe('index.html');
    expect(assetName('assets/main-ABCD1234.js')).toBe('assets/main-ABCD1234.js');
    expect(assetName('requests/a%20b')).toBe('requests/a b');
  });

  it('refuses what cannot name a console file: dot segments (encoded too), backslashes, control characters, bad escapes, long paths', () => {
    for (const raw of ['..', '../x', 'a/../b', '..%2fx', '%2e%2e/x', '%2E%2E%2Fx', './x', 'a\\b', '%5c', 'x%00', '%0a', '%E0%A4%A', 'a'.repeat(257)]) {
      expect(assetName(raw), raw).toBeUndefined();
    }
  });
});

describe('loadConsoleAssets', () => {
  it('reads index.html and assets/ once, marking hashed assets immutable and skipping unknown types', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(join(dir, 'assets', 'main-AAAA1111.js'), 'x');
    writeFileSync(join(dir, 'assets', 'main-AAAA1111.js.map'), '{}');
    const { files } = await loadConsoleAssets(dir);
    expect([...files.keys()]).toEqual(['index.html', 'assets/main-AAAA1111.js']);
    expect(files.get('index.html')?.immutable).toBe(false);
    expect(files.get('assets/main-AAAA1111.js')?.immutable).toBe(true);
  });

  it('is empty when the console was never built, and refuses a directory that is not the build', async () => {
    expect((await loadConsoleAssets(join(tmpdir(), 'no-such-console-dir'))).files.size).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'console-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '');
    for (let i = 0; i < 70; i++) writeFileSync(join(dir, 'assets', `f${i}.js`), '');
    await expect(loadConsoleAssets(dir)).rejects.toThrow(/more than 64 files/);
  });
});
