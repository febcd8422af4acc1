/**
 * Issue 10 §4 (last bullet), D-03: a reload that changes a setting read once at start used to
 * report success and ignore it. Each such key is now named in the result's `restartRequired`,
 * in the configReloaded event and in a warning log line; a reload of hot keys only names none.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { deepMerge } from '../../test/helpers/harness.js';
import { createGateway, type Gateway } from '../app.js';
import { resolveConfig } from '../config/load.js';
import type { ConfigReloadEvent } from '../observability/events.js';
import { createLogger } from '../observability/logger.js';

const env = { REDIS_URL: 'redis://127.0.0.1:9', REDIS_URL_2: 'redis://127.0.0.1:10', METRICS_TOKEN: 'metrics-token-a', METRICS_TOKEN_2: 'metrics-token-b' };

const base = (): Record<string, unknown> => ({
  server: { host: '127.0.0.1', port: 0, metrics: { bearerToken: '${env:METRICS_TOKEN}' } },
  logging: { level: 'info', format: 'json' },
  deployments: { a: { provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1' } },
  models: { m: { targets: [{ deployment: 'a', model: 'x' }] } },
  state: { backend: 'redis', redis: { url: '${env:REDIS_URL}' } },
});

/** Every setting read once at start, and a change to it. */
const capturedAtStart: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['server.host', { server: { host: '127.0.0.2' } }],
  ['server.port', { server: { port: 18_081 } }],
  ['server.bodyLimitBytes', { server: { bodyLimitBytes: 1_000 } }],
  ['server.headersTimeoutMs', { server: { headersTimeoutMs: 1_000 } }],
  ['server.requestTimeoutMs', { server: { requestTimeoutMs: 50_000 } }],
  ['server.keepAliveTimeoutMs', { server: { keepAliveTimeoutMs: 1_000 } }],
  ['server.maxHeaderBytes', { server: { maxHeaderBytes: 8_192 } }],
  ['server.maxConnections', { server: { maxConnections: 5 } }],
  ['server.maxBytesInFlight', { server: { maxBytesInFlight: 1_048_576 } }],
  ['server.metrics.host', { server: { metrics: { host: '0.0.0.0' } } }],
  ['server.metrics.port', { server: { metrics: { port: 19_090 } } }],
  ['server.metrics.bearerToken', { server: { metrics: { bearerToken: '${env:METRICS_TOKEN_2}' } } }],
  ['server.idleConnectionTimeoutMs', { server: { idleConnectionTimeoutMs: 1_000 } }],
  ['state.backend', { state: { backend: 'memory' } }],
  ['state.redis.url', { state: { redis: { url: '${env:REDIS_URL_2}' } } }],
  ['state.redis.mode', { state: { redis: { mode: 'cluster' } } }],
  ['state.redis.keyPrefix', { state: { redis: { keyPrefix: 'other:' } } }],
  ['state.redis.commandTimeoutMs', { state: { redis: { commandTimeoutMs: 99 } } }],
  ['state.redis.connectTimeoutMs', { state: { redis: { connectTimeoutMs: 99 } } }],
  ['state.redis.maxReconnectDelayMs', { state: { redis: { maxReconnectDelayMs: 99 } } }],
  ['state.redis.breaker.failureThreshold', { state: { redis: { breaker: { failureThreshold: 9 } } } }],
  ['state.redis.breaker.openMs', { state: { redis: { breaker: { openMs: 99 } } } }],
  ['state.redis.breaker.maxOpenMs', { state: { redis: { breaker: { maxOpenMs: 99_999 } } } }],
  ['state.expectedReplicas', { state: { expectedReplicas: 3 } }],
  ['state.leaseMs', { state: { leaseMs: 9_999 } }],
  ['retry.maxCooldownMs', { retry: { maxCooldownMs: 9_999 } }],
  ['timeouts.idleMs', { timeouts: { idleMs: 9_999 } }],
  ['logging.format', { logging: { format: 'pretty' } }],
  ['state.database', { state: { database: { dataDir: ':memory:' } } }],
  ['admin', { admin: { port: 19_091 } }],
  ['requestLog.flushMs', { requestLog: { flushMs: 2_000 } }],
  ['identity', { identity: { jwt: { issuer: 'http://127.0.0.1:9/realm', audience: 'llm-gateway' } } }],
];

/** An admin block turns the control plane on, so its store (state.database) appears with it. */
const namedWith: Readonly<Record<string, readonly string[]>> = { admin: ['state.database', 'admin'] };

/** Settings a reload applies; changing all of them at once must name nothing. */
const hot: Record<string, unknown> = {
  server: { drainDelayMs: 1, shutdownGraceMs: 1_000 },
  logging: { level: 'warn' },
  routing: { strategy: 'weighted' },
  retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, maxRetryAfterMs: 30, defaultCooldownMs: 40, budgetPercent: 50, budgetMinConcurrent: 1 },
  timeouts: { connectMs: 1_000, firstByteMs: 1_000, firstContentMs: 1_000, poolQueueMs: 1_000, totalMs: 1_000 },
  circuitBreaker: { failureThreshold: 9 },
  state: { failureMode: 'closed' },
  deployments: { b: { provider: 'openai', baseUrl: 'http://127.0.0.1:10/v1' } },
  models: { n: { targets: [{ deployment: 'b', model: 'y' }] } },
  tenants: { t: { keys: ['tenant-key-1'], limits: { requests: { capacity: 5, refillPerSecond: 1 } } } },
};

let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

function start(): { gateway: Gateway; events: ConfigReloadEvent[]; logs: Array<Record<string, unknown>> } {
  const events: ConfigReloadEvent[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  // Offline: the Redis backend is not connected (the reload logic under test does not need it).
  gateway = createGateway(resolveConfig(base(), env), {
    offline: true,
    logger: createLogger({ level: 'info', format: 'json', destination }),
    eventSinks: [{ configReloaded: (e) => events.push(e) }],
  });
  return { gateway, events, logs };
}

describe('reload of settings read once at start (issue 10 §4)', () => {
  it.each(capturedAtStart)('D-03: a reload changing %s succeeds and names it as needing a restart (result, event, warning)', async (key, patch) => {
    const named = namedWith[key] ?? [key];
    const { gateway, events, logs } = start();
    const result = gateway.reload(resolveConfig(deepMerge(base(), patch), env));
    expect(result.ok).toBe(true);
    expect(result.ok && result.restartRequired).toEqual(named);
    expect(events.at(-1)).toMatchObject({ result: 'success', restartRequired: named });
    await new Promise((r) => setImmediate(r));
    const warning = logs.find((l) => l.msg === 'config reloaded; changed settings that apply only after a restart were ignored');
    expect(warning).toMatchObject({ level: 40, restartRequired: named });
    // Secrets are compared, never shown.
    expect(JSON.stringify(logs)).not.toMatch(/metrics-token-|127\.0\.0\.1:10\b/);
  });

  it('D-03: a reload changing only settings it applies names none, and logs "config reloaded" at info', async () => {
    const { gateway, events, logs } = start();
    const result = gateway.reload(resolveConfig(deepMerge(base(), hot), env));
    expect(result).toMatchObject({ ok: true, restartRequired: [] });
    expect(events.at(-1)).toMatchObject({ result: 'success', restartRequired: [] });
    await new Promise((r) => setImmediate(r));
    // The level changed to warn with this reload, so the info line is not written; nothing warns.
    expect(logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('config reloaded'))).toEqual([]);
  });

  it('every server key but the drain timings is walked above, so a new one cannot be forgotten', () => {
    const server = resolveConfig(base(), env).server;
    const leaves = Object.entries(server).flatMap(([k, v]) => (k === 'metrics' ? Object.keys(v as object).concat('port', 'bearerToken').map((m) => `server.metrics.${m}`) : [`server.${k}`]));
    const walked = new Set(capturedAtStart.map(([k]) => k));
    expect([...new Set(leaves)].filter((k) => !walked.has(k)).sort()).toEqual(['server.drainDelayMs', 'server.shutdownGraceMs']);
  });
});
