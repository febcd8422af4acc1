import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as undici from 'undici';
import { describe, expect, it } from 'vitest';
import { Pool } from './undici-pool.js';

describe('undici-pool', () => {
  it("is undici's own Pool, with the request API", async () => {
    expect(Pool).toBe(undici.Pool);
    const pool = new Pool('http://127.0.0.1:9');
    expect(typeof pool.request).toBe('function');
    expect(typeof pool.stream).toBe('function');
    await pool.close();
  });

  it("loads without undici's index (fetch, WebSocket, caches), and its pools still answer requests", () => {
    // In a fresh process: this test file has loaded the index itself.
    const script = `
      import { createServer } from 'node:http';
      import { createRequire } from 'node:module';
      const { Pool } = await import(${JSON.stringify(new URL('../../dist/upstream/undici-pool.js', import.meta.url).href)});
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => /undici[\\\\/]index\\.js$/.test(f));
      const server = createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const pool = new Pool('http://127.0.0.1:' + server.address().port);
      const { statusCode, body } = await pool.request({ method: 'GET', path: '/' });
      process.stdout.write(JSON.stringify({ loaded, statusCode, text: await body.text() }));
      await pool.close();
      server.close();`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) })) as { loaded: string[]; statusCode: number; text: string };
    expect(out).toEqual({ loaded: [], statusCode: 200, text: 'ok' });
  });
});
