/**
 * A real Prometheus (Debian's `prometheus` package: /usr/bin/prometheus and promtool) for the
 * tests that prove the alert rules and the Grafana dashboard's queries. Tests skip (with a
 * message) when it is not installed, except under CI=true, where .ci/run installs it and they
 * must run. Each server is our own: a free loopback port, a temp config and storage directory,
 * stopped by its pid; every wait has a deadline.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redis.js';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

/** Whether prometheus and promtool are installed; under CI=true, missing is an error. */
export function prometheusAvailable(what: string): boolean {
  const ok = existsSync(PROMETHEUS) && existsSync(PROMTOOL);
  if (!ok && process.env.CI === 'true') throw new Error(`CI=true but no ${PROMETHEUS} / ${PROMTOOL} (apt-get install prometheus)`);
  if (!ok) console.warn(`[${what}] skipped: no ${PROMETHEUS} / ${PROMTOOL} (apt-get install prometheus, or run with CI=true to make this a failure)`);
  return ok;
}

/** Runs promtool with a deadline; resolves with its output and exit code (never rejects for a non-zero exit). */
export async function promtool(args: readonly string[], cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(PROMTOOL, [...args], { cwd, timeout: 30_000, maxBuffer: 4 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}

export interface OwnPrometheus {
  readonly url: string;
  /** GET /api/v1/<path>; throws unless the API answers `status: success`. */
  api<T = unknown>(path: string, params?: Record<string, string>): Promise<T>;
  /** Kills the server by pid, waits for its exit (bounded), removes its directory. Idempotent. */
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** host:port targets scraped at /metrics under job `llm-gateway`. */
  readonly targets: readonly string[];
  readonly scrapeIntervalS?: number;
  /** Absolute paths of rule files to load. */
  readonly ruleFiles?: readonly string[];
}

/** Starts a Prometheus scraping `targets` and waits (≤ 15 s) until it is ready. */
export async function startPrometheus(options: PrometheusOptions): Promise<OwnPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-prometheus-'));
  const port = await freePort();
  const interval = `${options.scrapeIntervalS ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'rule_files:',
    ...(options.ruleFiles ?? []).map((f) => `  - ${JSON.stringify(f)}`),
    ...(options.ruleFiles?.length ? [] : ['  []']),
    'scrape_configs:',
    '  - job_name: llm-gateway',
    `    scrape_interval: ${interval}`,
    `    scrape_timeout: ${interval}`,
    '    static_configs:',
    `      - targets: ${JSON.stringify(options.targets)}`,
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), `${config}\n`);
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (b: Buffer) => {
    if (log.length < 64 * 1024) log += b.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })());
  const api = async <T>(path: string, params: Record<string, string> = {}): Promise<T> => {
    const query = new URLSearchParams(params).toString();
    const res = await fetch(`${url}/api/v1/${path}${query ? `?${query}` : ''}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.errorType ?? ''} ${body.error ?? res.status}`);
    return body.data;
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${log}`);
    }
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready within 15 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, api, stop };
}
