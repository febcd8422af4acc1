/**
 * Attack on undici loaded from its own files (issue 17: the Pool and RequestAbortedError without
 * undici's index): in a fresh process the gateway's modules load first and undici's index after
 * them (a library, a plugin, the demo client), which assigns the request API to Dispatcher's
 * prototype a second time. The classes must stay one (instanceof against the index's), the
 * scrape path (`pool.request`) must still work, and a streamed body cut without a reason must
 * reject with the index's RequestAbortedError.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = (path: string): string => JSON.stringify(new URL(`../../dist/${path}`, import.meta.url).href);

describe("attack: undici's index loaded after the gateway's undici modules", () => {
  it('one Pool class, pool.request still works, a body destroyed without a reason rejects with the index\'s RequestAbortedError', () => {
    const script = `
      import { createServer } from 'node:http';
      const { Pool } = await import(${dist('upstream/undici-pool.js')});
      const { sendUpstream } = await import(${dist('upstream/send.js')});
      const { PoolGate } = await import(${dist('upstream/pool-gate.js')});
      const undici = await import('undici');
      const server = createServer((req, res) => {
        req.resume();
        if (req.url === '/held') { res.writeHead(200); res.write('x'); } else res.end('ok');
      }).listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const pool = new Pool('http://127.0.0.1:' + server.address().port);
      const scrape = await pool.request({ method: 'GET', path: '/' });
      const endpoint = { pool, gate: new PoolGate({ capacity: 1, maxPerTenant: 1, maxWaiting: 1 }), credentials: { kind: 'none' }, secrets: [], firstByteTimeoutMs: 5000, idleTimeoutMs: 5000, firstContentTimeoutMs: 5000, poolQueueMs: 5000 };
      const ctx = { signal: new AbortController().signal, tenant: 't', maxWaitMs: 5000, priority: 'normal', weight: 1 };
      const reply = await sendUpstream(endpoint, { method: 'POST', path: '/held', headers: {}, body: '{}' }, ctx);
      await reply.body.read();
      const waiting = reply.body.read();
      reply.body.destroy();
      const err = await waiting.catch((e) => e);
      process.stdout.write(JSON.stringify({
        samePool: Pool === undici.Pool,
        isDispatcher: pool instanceof undici.Dispatcher,
        scrape: [scrape.statusCode, await scrape.body.text()],
        aborted: err instanceof undici.errors.RequestAbortedError,
        held: endpoint.gate.held,
      }));
      await pool.destroy();
      server.closeAllConnections();
      server.close();`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) })) as unknown;
    expect(out).toEqual({ samePool: true, isDispatcher: true, scrape: [200, 'ok'], aborted: true, held: 0 });
  });
});
