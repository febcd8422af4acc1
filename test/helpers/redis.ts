/**
 * Redis for tests. Tests that only need a working Redis use the machine's, at 127.0.0.1:6379,
 * each under its own random key prefix so files and tests run in parallel; they skip (with a
 * message) when it is unreachable, except under CI=true, where they must run and fail. Tests
 * that kill, restart or slow Redis start their own redis-server (startRedisServer) and stop
 * only that process, by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { resolveConfig } from '../../src/config/load.js';
import type { ResolvedRedis } from '../../src/config/load.js';

export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';
export const REDIS_SERVER_BIN = '/usr/bin/redis-server';

/** Whether the machine's Redis answers PING; under CI=true, unreachable is an error. */
export async function sharedRedisAvailable(): Promise<boolean> {
  const ok = await ping(6379);
  if (!ok && process.env.CI === 'true') throw new Error(`CI=true but no Redis answers at ${SHARED_REDIS_URL}`);
  if (!ok) console.warn(`[redis tests] skipped: no Redis at ${SHARED_REDIS_URL} (start one, or run with CI=true to make this a failure)`);
  return ok;
}

export async function ping(port: number, password?: string): Promise<boolean> {
  const client = new Redis({ host: '127.0.0.1', port, ...(password ? { password } : {}), lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A key prefix no other test uses. */
export function uniquePrefix(label: string): string {
  return `test:${label}:${randomBytes(4).toString('hex')}:`;
}

/** A ResolvedRedis (as the config loader builds it) for `url`, with test-friendly overrides. */
export function redisSettings(url: string, over: Record<string, unknown> = {}): ResolvedRedis {
  const config = resolveConfig({ deployments: {}, models: {}, state: { backend: 'redis', redis: { url, ...over } } }, {});
  const redis = config.state.redis;
  if (!redis) throw new Error('unreachable');
  return redis;
}

/** A plain client for assertions (KEYS, TTL…), not the gateway's guarded one. */
export function adminClient(port = 6379): Redis {
  return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A redis-server of our own (no persistence), on a free port; `stop` kills only this pid. */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
  /** Starts it again, empty, on the same port. */
  restart(): Promise<void>;
}

/** `extraArgs`: more redis-server options (a cluster node needs a few); `password` for --requirepass. */
export async function startRedisServer(extraArgs: readonly string[] = [], password?: string): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...(password ? ['--requirepass', password] : []), ...extraArgs.map((a) => a.replaceAll('{port}', String(port)))];
    child = spawn(REDIS_SERVER_BIN, args, { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await ping(port, password)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on port ${port} did not start`);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1;
    },
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
  };
}

/**
 * A TCP proxy in front of a Redis that can add latency to every server reply, so a test
 * can make Redis slow without touching the server.
 */
export interface DelayProxy {
  readonly port: number;
  readonly url: string;
  delayMs: number;
  close(): Promise<void>;
}

export async function startDelayProxy(targetPort: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const state = { delayMs: 0 };
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      const delay = state.delayMs;
      if (delay <= 0) client.write(d);
      else setTimeout(() => client.writable && client.write(d), delay);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    url: `redis://127.0.0.1:${address.port}`,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
