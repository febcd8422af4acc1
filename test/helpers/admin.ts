/** Admin API calls for tests: JSON in, status and JSON out, with a bearer credential. */
import { request } from 'undici';
import type { FakeUpstreamOptions } from '../../src/testing/fake-upstream/fake-upstream.js';
import { deepMerge, deploymentFor, startHarness, type Harness } from './harness.js';

export const ADMIN_KEY = 'test-bootstrap-admin-key-0123456789abcdef';

export interface AdminResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: any;
  readonly text: string;
}

export async function admin(url: string, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown, key: string | null = ADMIN_KEY): Promise<AdminResult> {
  const res = await request(`${url}/admin/v1${path}`, {
    method,
    headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.statusCode, headers: res.headers as Record<string, string>, body: parsed, text };
}

/**
 * Audit entries matching `query` (GET /admin/v1/audit?…, newest first), asked again every 25 ms
 * until `ready` holds: security events (auth.refused, access.denied, bootstrap.used) are written
 * off the request path, within about 250 ms. Throws after `timeoutMs` with what was last seen.
 */
export async function auditUntil(url: string, query: Record<string, string>, ready: (entries: any[]) => boolean, timeoutMs = 5_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  const path = `/audit?${new URLSearchParams({ limit: '1000', ...query })}`;
  for (;;) {
    const res = await admin(url, 'GET', path);
    if (res.status !== 200) throw new Error(`GET /admin/v1${path} answered ${res.status}: ${res.text}`);
    const entries = res.body.data as any[];
    if (ready(entries)) return entries;
    if (Date.now() > deadline) throw new Error(`audit entries for ${JSON.stringify(query)} not as expected within ${timeoutMs} ms: ${JSON.stringify(entries).slice(0, 2_000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A gateway with the control plane on, as most admin tests want it: one fake OpenAI upstream
 * (deployment `d`, answering as `fake` says), each alias in `models` served by it, the bootstrap
 * key ADMIN_KEY, and the embedded store in `:memory:`. `extra` is deep-merged over that config
 * (identity, limits, prices…).
 */
export function startAdminHarness(models: readonly string[] = ['m'], extra: Record<string, unknown> = {}, fake: FakeUpstreamOptions = { dialect: 'openai' }): Promise<Harness> {
  return startHarness({
    fakes: [fake],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
    config: (f) =>
      deepMerge(
        {
          deployments: { d: deploymentFor(f[0]!) },
          models: Object.fromEntries(models.map((m) => [m, { targets: [{ deployment: 'd', model: 'm' }] }])),
          admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
          state: { database: { dataDir: ':memory:' } },
        },
        extra,
      ),
  });
}

/** One server-sent event as read off the wire (comments are `{ comment }`). */
export interface SseEvent {
  readonly event?: string;
  readonly data?: string;
  readonly retry?: string;
  readonly comment?: string;
}

/**
 * An open `GET /admin/v1/live` (or any SSE admin route) over a real socket: its status, the
 * events read so far, a wait for the next event matching a test, and whether the server ended it.
 * A refusal (not 200) has its JSON body in `body`. `read: false` never reads the body (a stalled
 * client: the socket's receive window fills).
 */
export interface OpenStream {
  readonly status: number;
  readonly body: any;
  readonly events: SseEvent[];
  next(match: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when the server ends or drops the stream. */
  readonly ended: Promise<void>;
  /** Starts reading a stream opened with `read: false` (discarding what it reads): only then can it see the server's close. */
  resume(): void;
  close(): void;
}

export async function openStream(url: string, path = '/live', key: string | null = ADMIN_KEY, options: { read?: boolean } = {}): Promise<OpenStream> {
  const { request: httpRequest } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = httpRequest(path === '' ? url : `${url}/admin/v1${path}`, { headers: key === null ? {} : { authorization: `Bearer ${key}` } });
    req.once('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
    req.once('response', (res) => {
      req.setTimeout(0);
      const events: SseEvent[] = [];
      const waiters = new Set<() => void>();
      let endedResolve: () => void = () => {};
      const ended = new Promise<void>((r) => (endedResolve = r));
      const finish = (): void => {
        endedResolve();
        for (const w of waiters) w();
      };
      res.once('end', finish);
      res.once('close', finish);
      res.once('error', finish);
      if (res.statusCode !== 200) {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || 'null'), events, next: () => Promise.reject(new Error('no stream')), ended, resume: () => undefined, close: () => req.destroy() }));
        return;
      }
      let buffer = '';
      const onData = (chunk: string): void => {
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const e: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) e.comment = line.slice(1).trim();
            else {
              const colon = line.indexOf(':');
              const name = line.slice(0, colon);
              e[name] = (e[name] === undefined ? '' : `${e[name]}\n`) + line.slice(colon + 1).replace(/^ /, '');
            }
          }
          events.push(e);
        }
        for (const w of waiters) w();
      };
      if (options.read !== false) {
        res.setEncoding('utf8');
        res.on('data', onData);
      } else {
        res.pause();
      }
      let seen = 0;
      const next = (match: (e: SseEvent) => boolean, timeoutMs = 10_000): Promise<SseEvent> =>
        new Promise((ok, fail) => {
          const check = (): void => {
            while (seen < events.length) {
              const e = events[seen++]!;
              if (match(e)) {
                waiters.delete(check);
                clearTimeout(timer);
                ok(e);
                return;
              }
            }
            if (res.complete || res.destroyed) {
              waiters.delete(check);
              clearTimeout(timer);
              fail(new Error(`the stream ended before a matching event (${events.length} events)`));
            }
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            fail(new Error(`no matching event within ${timeoutMs} ms (${events.length} events)`));
          }, timeoutMs);
          waiters.add(check);
          check();
        });
      resolve({ status: res.statusCode, body: undefined, events, next, ended, resume: () => res.resume(), close: () => req.destroy() });
    });
    req.end();
  });
}
