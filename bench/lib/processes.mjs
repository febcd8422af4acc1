// Child processes for the benchmark: every process started is tracked and stopped (by pid) when
// the run ends, however it ends.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { request } from 'node:http';

const started = new Set();
/** Whether processes can be pinned to CPUs (taskset and at least 2 CPUs). */
export const canPin = availableParallelism() >= 2 && (await hasTaskset());

async function hasTaskset() {
  return new Promise((resolve) => {
    const c = spawn('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    c.on('error', () => resolve(false));
    c.on('exit', (code) => resolve(code === 0));
  });
}

export const pinning = canPin ? 'taskset: gateways on CPU 1, fake upstream and load generators on CPU 0' : 'not pinned (taskset or a second CPU is missing)';

/**
 * Spawns `node …args` pinned to `cpu` (a taskset CPU list: 1, or 0-1) when possible. `ipc` gives
 * the probe its channel. `nofile`: the child's open-files limit (ulimit -n), set through bash
 * before exec; it cannot exceed the hard limit (see openFilesLimit).
 */
export function spawnNode(args, { cpu, ipc = false, cwd, env, nofile } = {}) {
  let cmd = canPin && cpu !== undefined ? 'taskset' : process.execPath;
  let argv = canPin && cpu !== undefined ? ['-c', String(cpu), process.execPath, ...args] : args;
  if (nofile !== undefined) {
    argv = ['-c', `ulimit -n ${Math.floor(nofile)} && exec "$@"`, 'bash', cmd, ...argv];
    cmd = 'bash';
  }
  const child = spawn(cmd, argv, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])] });
  started.add(child);
  child.on('exit', () => started.delete(child));
  return child;
}

/** Resolves with the first stdout line that parses as JSON (services announce their ports so). */
export function firstJsonLine(child, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no JSON line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const v = JSON.parse(line);
          clearTimeout(timer);
          child.stdout.off('data', onData);
          resolve(v);
          return;
        } catch {
          // not JSON: keep reading
        }
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before announcing`));
    });
  });
}

/** The open-files limits of this process (children inherit them): { soft, hard }, undefined off Linux. */
export function openFilesLimit() {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line.trim().split(/\s{2,}/).slice(1, 3).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
    return { soft, hard };
  } catch {
    return undefined;
  }
}

/** Runs a one-shot load generator child and returns its last JSON stdout line. */
export async function runJsonChild(args, { cpu, timeoutMs, onLine, nofile } = {}) {
  const child = spawnNode(args, { cpu, nofile });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    out += d;
    if (onLine) {
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        onLine(JSON.parse(line));
      }
    }
  });
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs ?? 120_000);
  const code = await new Promise((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  if (onLine) return undefined;
  const last = out.trim().split('\n').pop();
  if (code !== 0 || !last) throw new Error(`load generator failed (${code}): ${err.slice(0, 500)}`);
  return JSON.parse(last);
}

/** Sends a probe command to a child started with `--import probe.mjs` and an IPC channel. */
let probeSeq = 0;
export function probe(child, cmd, timeoutMs = 10_000, extra = {}) {
  const id = ++probeSeq;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`probe ${cmd} timed out`));
    }, timeoutMs);
    const onMessage = (m) => {
      if (m?.probeReply !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.send({ probe: cmd, id, ...extra });
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Polls `GET url` until it answers (any status) or the timeout passes. */
export async function waitForHttp(url, timeoutMs = 30_000, stderr = { text: '' }) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const req = request(url, { method: 'GET', timeout: 1000 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${url} did not answer within ${timeoutMs} ms\n${stderr.text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Discards a service's stdout/stderr (our gateway's access log goes here, as to a log shipper); keeps the stderr tail for errors. */
export function drain(child) {
  child.stdout.resume();
  const tail = { text: '' };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (tail.text = (tail.text + d).slice(-2000)));
  return tail;
}

/** Stops one child (SIGTERM, SIGKILL after `graceMs`) and resolves once it has exited. */
export async function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Stops every process this run started (SIGTERM, then SIGKILL after a grace period). */
export async function stopAll(graceMs = 3000) {
  const children = [...started];
  for (const c of children) c.kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (started.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const c of started) c.kill('SIGKILL');
}
