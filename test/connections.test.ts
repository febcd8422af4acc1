/**
 * Connections that hold descriptors (issue 9 §4): silent connections are closed, slow headers and
 * slow bodies are closed within their timeout + the 1 s checking interval, and connections
 * beyond the cap are refused. Real sockets, bounded counts.
 */
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.js';
import { deploymentFor, get, KEY, startHarness, type Harness, pollUntil } from './helpers/harness.js';

const open: Harness[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function start(server: Record<string, unknown> = {}, lines?: string[]): Promise<Harness> {
  const h = await startHarness({
    ...(lines ? { logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }) } : {}),
    fakes: [{ dialect: 'openai' }],
    config: ([a]) => ({ server, ...(lines ? { logging: { level: 'info' } } : {}), deployments: { a: deploymentFor(a!) }, models: { m: { targets: [{ deployment: 'a', model: 'x' }] } } }),
  });
  open.push(h);
  return h;
}

interface Tracked {
  readonly socket: Socket;
  closedAtMs: number | undefined;
  received: string;
}

async function openSockets(h: Harness, n: number): Promise<Tracked[]> {
  const { port } = new URL(h.url);
  return Promise.all(
    Array.from({ length: n }, () =>
      new Promise<Tracked>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1');
        sockets.push(socket);
        const t: Tracked = { socket, closedAtMs: undefined, received: '' };
        socket.on('data', (d: Buffer) => (t.received += d.toString('latin1')));
        socket.on('error', () => undefined);
        socket.on('close', () => (t.closedAtMs ??= Date.now()));
        socket.once('connect', () => resolve(t));
        // A socket the server closes at once still resolves (as closed).
        socket.once('close', () => resolve(t));
      }),
    ),
  );
}

describe('silent connections', () => {
  it('50 connections that never send a byte are closed after server.idleConnectionTimeoutMs; /health answers', async () => {
    const h = await start({ idleConnectionTimeoutMs: 1_000 });
    const idle = await openSockets(h, 50);
    const allClosed = await pollUntil(() => idle.every((t) => t.closedAtMs !== undefined), 15_000);
    expect(allClosed, `${idle.filter((t) => t.closedAtMs === undefined).length} of 50 still open`).toBe(true);
    // Closed silently: nobody asked anything.
    expect(idle.every((t) => t.received === '')).toBe(true);
    expect((await get(h.url, '/health', null)).status).toBe(200);
  });

  it('with the defaults a silent connection is closed too (server.idleConnectionTimeoutMs defaults to 10 s)', async () => {
    expect(configSchema.parse({ deployments: {}, models: {} }).server.idleConnectionTimeoutMs).toBe(10_000);
    const h = await start();
    const startedAt = Date.now();
    const idle = await openSockets(h, 5);
    const allClosed = await pollUntil(() => idle.every((t) => t.closedAtMs !== undefined), 30_000);
    expect(allClosed).toBe(true);
    // Not before the default: the timeout is the configured one, not something shorter.
    expect(Math.min(...idle.map((t) => (t.closedAtMs as number) - startedAt))).toBeGreaterThanOrEqual(9_000);
  }, 40_000);

  it('after its first request a quiet keep-alive connection is governed by keepAliveTimeoutMs, not the first-request timeout', async () => {
    const h = await start({ idleConnectionTimeoutMs: 500 });
    const [t] = await openSockets(h, 1);
    t!.socket.write(`GET /health HTTP/1.1\r\nHost: x\r\n\r\n`);
    await pollUntil(() => t!.received.includes('"ok"'), 5_000);
    // Silent for longer than the first-request timeout: keepAliveTimeoutMs (65 s) applies now.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(t!.closedAtMs).toBeUndefined();
  });
});

describe('slow requests are closed within their timeout + 1 s (not Node\'s 30 s check interval)', () => {
  it('ten slow-header sockets get 408 request_timeout and are closed', async () => {
    const h = await start({ headersTimeoutMs: 1_500, requestTimeoutMs: 1_500 });
    const slow = await openSockets(h, 10);
    const startedAt = Date.now();
    const header = `GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(200)}`;
    let i = 0;
    const drip = setInterval(() => {
      for (const t of slow) if (t.closedAtMs === undefined) t.socket.write(header[i % header.length] as string);
      i++;
    }, 200);
    try {
      const allClosed = await pollUntil(() => slow.every((t) => t.closedAtMs !== undefined), 12_000);
      expect(allClosed, `still open after ${Date.now() - startedAt} ms`).toBe(true);
    } finally {
      clearInterval(drip);
    }
    for (const t of slow) expect(t.received).toMatch(/^HTTP\/1\.1 408 [\s\S]*"code":"request_timeout"/);
  });

  it('a slow body gets 408 request_timeout, is closed, and is recorded once in the access log', async () => {
    const lines: string[] = [];
    const h = await start({ headersTimeoutMs: 1_500, requestTimeoutMs: 1_500 }, lines);
    const [t] = await openSockets(h, 1);
    t!.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: 100\r\n\r\n{"model":`);
    const closed = await pollUntil(() => t!.closedAtMs !== undefined, 12_000);
    expect(closed).toBe(true);
    expect(t!.received).toMatch(/^HTTP\/1\.1 408 [\s\S]*"code":"request_timeout"/);
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ route: '/v1/chat/completions', status: 408, outcome: 'client_error', errorCode: 'request_timeout' });
  });
});

describe('connection cap', () => {
  it('connections beyond server.maxConnections are closed at once; the ones within stay until idle', async () => {
    const h = await start({ maxConnections: 20, idleConnectionTimeoutMs: 60_000 });
    const held = await openSockets(h, 30);
    await pollUntil(() => held.filter((t) => t.closedAtMs !== undefined).length >= 10, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(held.filter((t) => t.closedAtMs === undefined)).toHaveLength(20);
  });
});
