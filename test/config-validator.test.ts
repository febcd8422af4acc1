/**
 * Issue 10 §5, one config validator: every value a constructor, a timer or a listener would
 * refuse is refused by the schema first, with its path; `check-config` and `serve` print the
 * same message (no stack) and exit 1; check-config lists every problem in one run and compiles
 * what serve compiles without opening a connection. Runs the real CLI (dist/main.js).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deepMerge } from './helpers/harness.js';
import { ConfigError, resolveConfig } from '../src/config/load.js';
import { checkConfigFile, compileGateway } from '../src/lifecycle/compile-gateway.js';
import { serveProcess } from '../src/lifecycle/serve-process.js';
import { createLogger } from '../src/observability/logger.js';

const mainJs = resolve(import.meta.dirname, '..', 'dist', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'llm-gateway-config-validator-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The process was still running at the deadline (serve accepted the config) and was killed. */
  readonly killed: boolean;
}

/** Runs the CLI; a process still running after `deadlineMs` (a serve that started) is killed by its pid. */
function runCli(args: readonly string[], deadlineMs = 15_000): Promise<CliRun> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [mainJs, ...args], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, killed });
    });
  });
}

let files = 0;
function writeConfig(config: unknown): string {
  const path = join(dir, `config-${files++}.yaml`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

const base = (): Record<string, unknown> => ({
  server: { host: '127.0.0.1', port: 0 },
  logging: { level: 'silent' },
  deployments: { a: { provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1' } },
  models: { m: { targets: [{ deployment: 'a', model: 'x' }] } },
});

const overTimer = 2 ** 31;
const redis = (over: Record<string, unknown>) => ({ state: { backend: 'redis', redis: over } });

/** Each value, and what refused (or silently broke on) it before the schema did. */
const badValues: ReadonlyArray<{ readonly path: string; readonly patch: Record<string, unknown>; readonly before: string }> = [
  { path: 'circuitBreaker.jitterRatio', patch: { circuitBreaker: { jitterRatio: 1 } }, before: 'CircuitBreaker: RangeError' },
  { path: 'circuitBreaker.openMs', patch: { circuitBreaker: { openMs: 400_000 } }, before: 'CircuitBreaker: RangeError (openMs above maxOpenMs)' },
  { path: 'server.headersTimeoutMs', patch: { server: { headersTimeoutMs: 70_000 } }, before: 'http.createServer: ERR_OUT_OF_RANGE' },
  { path: 'server.metrics.port', patch: { server: { port: 18_080, metrics: { port: 18_080 } } }, before: 'listen: EADDRINUSE on its own second listener' },
  { path: 'state.redis.breaker.openMs', patch: redis({ url: 'redis://127.0.0.1:9', breaker: { openMs: 20_000 } }), before: 'the Redis breaker silently raised maxOpenMs' },
  // After the breaker case: merged into one file, its url must win.
  { path: 'state.redis.url', patch: redis({ url: 'redis://[::1', mode: 'cluster' }), before: 'the Redis client: TypeError Invalid URL' },
  { path: 'retry.baseDelayMs', patch: { retry: { baseDelayMs: 5_000, maxDelayMs: 1_000 } }, before: 'backoff silently capped every delay' },
  { path: 'timeouts.totalMs', patch: { timeouts: { totalMs: overTimer } }, before: 'setTimeout overflow: the deadline fired after 1 ms' },
  { path: 'timeouts.idleMs', patch: { timeouts: { idleMs: overTimer } }, before: 'setTimeout overflow' },
  { path: 'server.keepAliveTimeoutMs', patch: { server: { keepAliveTimeoutMs: overTimer } }, before: 'socket timeout overflow' },
  { path: 'retry.maxCooldownMs', patch: { retry: { maxCooldownMs: overTimer } }, before: 'timer overflow' },
  { path: 'deployments.a.timeouts.totalMs', patch: { deployments: { a: { timeouts: { totalMs: 5_000 } } } }, before: 'validated and ignored' },
];

describe('one config validator (issue 10 §5)', () => {
  it.each(badValues)('$path: check-config refuses it naming the path; serve refuses it with the same message (was: $before)', async ({ path, patch }) => {
    const file = writeConfig(deepMerge(base(), patch));
    const check = await checkConfigFile(file, {}).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(check).toBeInstanceOf(ConfigError);
    expect((check as ConfigError).issues.map((i) => i.path)).toContain(path);
    const serve = await serveProcess({ configPath: file }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(serve).toBeInstanceOf(ConfigError);
    expect((serve as ConfigError).message).toBe((check as ConfigError).message);
  });

  it('the CLI: check-config and serve both exit 1 with every problem in one run (field, cross-field, cross-reference, environment), the same text, no stack', async () => {
    let all = base();
    for (const { patch } of badValues) all = deepMerge(all, patch);
    all = deepMerge(all, { deployments: { a: { apiKey: '${env:VALIDATOR_UNSET_KEY}' } }, models: { m: { targets: [{ deployment: 'missing', model: 'x' }] } } });
    const file = writeConfig(all);
    const [check, serve] = await Promise.all([runCli(['check-config', file]), runCli(['serve', '--config', file, '--port', '0'])]);
    expect(check.code, check.stdout + check.stderr).toBe(1);
    const listed = check.stderr.split('\n').filter((l) => l.startsWith('  - ')).map((l) => l.slice(4, l.indexOf(': ')));
    const expected = [...badValues.map((b) => b.path), 'models.m.targets[0].deployment', 'deployments.a.apiKey'];
    expect(new Set(listed)).toEqual(new Set(expected));
    expect(serve.killed, serve.stdout + serve.stderr).toBe(false);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toBe(check.stderr);
    expect(serve.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('check-config compiles without opening anything: no upstream connection, no Redis connection', async () => {
    const accepted: string[] = [];
    const listen = (label: string): Promise<Server> =>
      new Promise((ok) => {
        const server = createServer((socket) => {
          accepted.push(label);
          socket.destroy();
        });
        server.listen(0, '127.0.0.1', () => ok(server));
      });
    const upstream = await listen('upstream');
    const fakeRedis = await listen('redis');
    const port = (s: Server): number => (s.address() as { port: number }).port;
    try {
      const file = writeConfig(
        deepMerge(base(), {
          deployments: { a: { baseUrl: `http://127.0.0.1:${port(upstream)}/v1` } },
          state: { backend: 'redis', redis: { url: `redis://127.0.0.1:${port(fakeRedis)}` } },
        }),
      );
      const check = await runCli(['check-config', file]);
      expect(check.stderr).toBe('');
      expect(check.code).toBe(0);
      expect(check.stdout).toContain(`${file}: OK (1 deployments, 1 models, 0 tenants)`);
      // Anything that connected did so before exit; give a late SYN no benefit of the doubt.
      await new Promise((r) => setTimeout(r, 100));
      expect(accepted).toEqual([]);
    } finally {
      upstream.close();
      fakeRedis.close();
    }
  }, 60_000);

  it('a value the schema let through but a constructor refuses is still a config error (the compile step is the safety net)', () => {
    const valid = resolveConfig(base(), {});
    // Past the schema on purpose: what a gap in it would let reach the compile step.
    const broken = { ...valid, circuitBreaker: { ...valid.circuitBreaker, jitterRatio: 1 } };
    let caught: unknown;
    try {
      compileGateway(broken, { offline: true, logger: createLogger({ level: 'silent', format: 'json' }) }, 'the file');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).message).toMatch(/^the file is invalid:\n {2}- \(root\): cannot be compiled: breaker jitterRatio must be in \[0, 1\)/);
  });
});
