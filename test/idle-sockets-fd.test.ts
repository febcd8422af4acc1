/**
 * Issue 9 §4's run, bounded: 600 connections that never send a byte against a gateway limited to
 * 512 open files (`ulimit -n 512`, no root needed). Before: the 600 sockets exhausted the
 * descriptors and /health was refused for as long as they stayed (forever). Now the connection
 * cap is lowered to fit the limit (extra connections are closed on accept), silent ones are
 * closed after server.idleConnectionTimeoutMs, and /health answers on a fresh connection.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { probe, startChildGateway, type ChildGateway } from './helpers/child-gateway.js';

let gateway: ChildGateway | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await gateway?.cleanup();
  gateway = undefined;
});

it('600 idle sockets against a 512-file gateway: the process stays up and /health answers once the silent ones are closed', async () => {
  gateway = startChildGateway({
    openFilesLimit: 512,
    config: {
      server: { host: '127.0.0.1', port: 0, idleConnectionTimeoutMs: 2_000 },
      logging: { level: 'info', format: 'json' },
      deployments: { a: { provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1' } },
      models: { m: { targets: [{ deployment: 'a', model: 'x' }] } },
    },
  });
  const lowered = await gateway.waitForLog((l) => String(l.msg).includes('maxConnections lowered'), 20_000);
  expect(lowered.applied).toBe(384);
  const listening = await gateway.waitForLog((l) => l.msg === 'llm-gateway listening', 20_000);
  const { port } = new URL(String(listening.url));
  let closed = 0;
  await Promise.all(
    Array.from({ length: 600 }, () =>
      new Promise<void>((resolve) => {
        const s = connect(Number(port), '127.0.0.1');
        sockets.push(s);
        s.on('error', () => undefined);
        s.once('close', () => {
          closed++;
          resolve();
        });
        s.once('connect', () => resolve());
      }),
    ),
  );
  // Within a generous bound every silent connection is gone (2 s timeout; the machine is busy).
  const deadline = Date.now() + 20_000;
  while (closed < 600 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(closed).toBe(600);
  const health = await probe(String(listening.url), '/health');
  expect(health).toEqual({ status: 200, body: '{"status":"ok"}' });
  expect(gateway.child.exitCode).toBeNull();
}, 60_000);
