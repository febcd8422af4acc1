/**
 * Runs the real CLI (`node dist/main.js serve …`) as a child process, for tests about signals,
 * draining, reload and workers. The config is written to a temp file as JSON (valid YAML).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'node:http';

const mainJs = resolve(import.meta.dirname, '..', '..', 'dist', 'main.js');

export interface ChildGateway {
  readonly child: ChildProcess;
  readonly configPath: string;
  /** Every JSON log line so far. */
  readonly logs: Array<Record<string, unknown>>;
  /** Other output (stderr, non-JSON stdout), for failure messages. */
  readonly otherOutput: string[];
  /** Resolves with the first log line matching, or rejects after timeoutMs. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  /** Rewrites the config file. */
  writeConfig(config: unknown): void;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the process (if still running) and removes the temp directory. */
  cleanup(): Promise<void>;
}

export function startChildGateway(options: { config: unknown; args?: readonly string[]; env?: NodeJS.ProcessEnv; openFilesLimit?: number }): ChildGateway {
  const dir = mkdtempSync(join(tmpdir(), 'llm-gateway-test-'));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, JSON.stringify(options.config, null, 2));
  const nodeArgs = [mainJs, 'serve', '--config', configPath, ...(options.args ?? [])];
  // Lowering the soft open-files limit needs no privilege: `ulimit -n N` in a shell, then exec node.
  const [command, args] =
    options.openFilesLimit === undefined
      ? [process.execPath, nodeArgs]
      : ['/bin/sh', ['-c', `ulimit -n ${Math.floor(options.openFilesLimit)} && exec "$0" "$@"`, process.execPath, ...nodeArgs]];
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const otherOutput: string[] = [];
  const watchers = new Set<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }>();
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        otherOutput.push(line);
        continue;
      }
      logs.push(parsed);
      for (const w of watchers) if (w.match(parsed)) w.resolve(parsed);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => otherOutput.push(text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
  return {
    child,
    configPath,
    logs,
    otherOutput,
    waitForLog(match, timeoutMs) {
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolveLog, reject) => {
        const watcher = {
          match,
          resolve: (l: Record<string, unknown>) => {
            clearTimeout(timer);
            watchers.delete(watcher);
            resolveLog(l);
          },
        };
        const timer = setTimeout(() => {
          watchers.delete(watcher);
          reject(new Error(`no matching log line within ${timeoutMs} ms; output:\n${otherOutput.join('\n')}\n${logs.map((l) => JSON.stringify(l)).slice(-20).join('\n')}`));
        }, timeoutMs);
        watchers.add(watcher);
      });
    },
    writeConfig(config) {
      writeFileSync(configPath, JSON.stringify(config, null, 2));
    },
    exited,
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** GET on a fresh connection (no keep-alive): what a load balancer's health check does. */
export function probe(url: string, path: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolveProbe) => {
    const req = request(`${url}${path}`, { agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolveProbe({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolveProbe({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    });
    req.on('error', (err) => resolveProbe({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.on('timeout', () => req.destroy(new Error('probe timeout')));
    req.end();
  });
}
