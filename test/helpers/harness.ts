/**
 * Integration harness: real fake upstreams and a real gateway on 127.0.0.1 port 0, built per
 * test so files and tests can run in parallel without sharing state. Defaults keep timeouts and
 * backoff short so the suite stays fast; each test overrides what its scenario needs.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { Agent, request, type Dispatcher } from 'undici';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import type { GatewayEvents } from '../../src/observability/events.js';
import { resolveConfig } from '../../src/config/load.js';
import { FakeUpstream, type FakeUpstreamOptions } from '../../src/testing/fake-upstream/fake-upstream.js';
import { seededRandom } from '../../src/testing/seeded-random.js';

/** The key of the default tenant `main` (allowed every model). */
export const KEY = 'sk-test-main-0123456789';

type Json = Record<string, unknown>;

export interface HarnessOptions {
  /** Fakes to start, in order; `fakes[i]` in the config callback is the i-th one. */
  readonly fakes?: ReadonlyArray<FakeUpstreamOptions>;
  /** Config (as YAML would give it) deep-merged over the harness defaults; arrays replace. */
  readonly config: (fakes: readonly FakeUpstream[]) => Json;
  /** Environment for `${env:…}` references. */
  readonly env?: NodeJS.ProcessEnv;
  readonly logger?: Logger;
  /** Random source for balancers, jitter and breakers; default a fixed-seed generator. */
  readonly random?: () => number;
  /** The gateway's clock; default the system clock. */
  readonly clock?: Clock;
  /** Extra event subscribers (tests that count events). */
  readonly eventSinks?: ReadonlyArray<Partial<GatewayEvents>>;
  /** What runs batches (GatewayOptions.batchEngine). */
  readonly batchEngine?: GatewayOptions['batchEngine'];
  /** Wraps the /v1/responses store (GatewayOptions.responseStore). */
  readonly responseStore?: GatewayOptions['responseStore'];
}

export interface Harness {
  readonly url: string;
  /** The operator listener (`server.metrics.port`), when configured. */
  readonly metricsUrl?: string;
  /** The client connection pool the HTTP helpers use for this gateway (destroyed on close). */
  readonly client: Dispatcher;
  readonly gateway: Gateway;
  readonly fakes: readonly FakeUpstream[];
  /** Closes the fakes first (ends hanging exchanges), then the gateway. Idempotent. */
  close(): Promise<void>;
}

const clients = new Map<string, Dispatcher>();

const defaults: Json = {
  server: { host: '127.0.0.1', port: 0 },
  logging: { level: 'silent' },
  retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
  timeouts: { connectMs: 1_000, firstByteMs: 3_000, idleMs: 3_000, totalMs: 8_000 },
  circuitBreaker: { failureThreshold: 3, openMs: 30_000, jitterRatio: 0 },
  tenants: { main: { keys: [KEY], models: ['*'] } },
};

/** The harness defaults with `config` deep-merged over them, validated and resolved (for reloads). */
export function harnessConfig(config: Json, env: NodeJS.ProcessEnv = {}): ReturnType<typeof resolveConfig> {
  return resolveConfig(deepMerge(defaults, config), env);
}

/** Starts the fakes, then a gateway configured from `options.config(fakes)`. */
export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const fakes: FakeUpstream[] = [];
  try {
    for (const spec of options.fakes ?? []) fakes.push(await FakeUpstream.start(spec));
    const config = resolveConfig(deepMerge(defaults, options.config(fakes)), options.env ?? {});
    const gateway = createGateway(config, {
      logger: options.logger ?? pino({ level: 'silent' }),
      random: options.random ?? seededRandom(42),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.eventSinks ? { eventSinks: options.eventSinks } : {}),
      ...(options.batchEngine ? { batchEngine: options.batchEngine } : {}),
      ...(options.responseStore ? { responseStore: options.responseStore } : {}),
    });
    const { url, metricsUrl } = await gateway.listen({ host: '127.0.0.1', port: 0 });
    // A client pool per gateway, destroyed before the gateway closes: Node counts a client
    // socket that was opened but never used as active, and the gateway's close would wait for it.
    const client = new Agent();
    clients.set(url, client);
    let closing: Promise<void> | undefined;
    return {
      url,
      ...(metricsUrl === undefined ? {} : { metricsUrl }),
      client,
      gateway,
      fakes,
      close: () =>
        (closing ??= (async () => {
          clients.delete(url);
          await client.destroy();
          await Promise.all(fakes.map((f) => f.close()));
          await gateway.close();
        })()),
    };
  } catch (err) {
    await Promise.all(fakes.map((f) => f.close()));
    throw err;
  }
}

/** A deployment entry pointing at a fake (provider follows the fake's dialect). */
export function deploymentFor(fake: FakeUpstream, extra: Json = {}): Json {
  // Every dialect but OpenAI's is configured under its own name (triton, gemini, ollama…).
  return { provider: fake.dialect, baseUrl: fake.baseUrl, ...extra };
}

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `over` merged into `base` key by key, objects recursively (arrays and scalars replace). */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

export interface ChatOptions {
  /** Bearer key; default KEY; null sends no Authorization header. */
  readonly key?: string | null;
  readonly signal?: AbortSignal;
  readonly headers?: Record<string, string>;
  readonly path?: string;
  readonly method?: 'POST' | 'GET';
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  /** The body parsed as JSON (throws if it is not JSON). */
  json<T = any>(): T;
  /** The `data:` payloads of an SSE body, in order (`[DONE]` included). */
  events(): string[];
}

/** The default chat body for a model. */
export function chatBody(model: string, extra: Json = {}): Json {
  return { model, messages: [{ role: 'user', content: 'Say hello to the integration tests.' }], ...extra };
}

/** POSTs a chat request (object bodies are JSON-encoded) and reads the whole response. */
export async function chat(url: string, body: unknown, options: ChatOptions = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  const key = options.key === undefined ? KEY : options.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await request(`${url}${options.path ?? '/v1/chat/completions'}`, {
    method: options.method ?? 'POST',
    headers,
    ...(options.method === 'GET' ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    ...(options.signal ? { signal: options.signal } : {}),
    ...dispatcherOption(url),
  });
  return toResult(res.statusCode, res.headers, await res.body.text());
}

/** GETs a path (with the default key unless told otherwise). */
export async function get(url: string, path: string, key: string | null = KEY): Promise<HttpResult> {
  const res = await request(`${url}${path}`, { method: 'GET', headers: key === null ? {} : { authorization: `Bearer ${key}` }, ...dispatcherOption(url) });
  return toResult(res.statusCode, res.headers, await res.body.text());
}

/** `{ dispatcher }` for undici's request options when the URL belongs to a harness. */
export function dispatcherOption(url: string): { dispatcher?: Dispatcher } {
  const dispatcher = clients.get(url);
  return dispatcher ? { dispatcher } : {};
}

export function toResult(status: number, rawHeaders: Record<string, string | string[] | undefined>, text: string): HttpResult {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawHeaders)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return { status, headers, text, json: () => JSON.parse(text), events: () => sseData(text) };
}

/** The `data:` payloads of an SSE text, in order. */
export function sseData(text: string): string[] {
  const out: string[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''));
    if (data.length > 0) out.push(data.join('\n'));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Metrics

export async function scrapeMetrics(url: string): Promise<string> {
  const res = await request(`${url}/metrics`, dispatcherOption(url));
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  return res.body.text();
}

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum over the series of `name` whose labels include `labels` (0 when none match). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  return parseMetrics(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Number of series of `name` (any labels). */
export function seriesCount(text: string, name: string): number {
  return parseMetrics(text).filter((s) => s.name === name).length;
}

export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await scrapeMetrics(url), name, labels);
}

/** A free TCP port nobody listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Sends bytes the HTTP clients refuse to produce (bad framing, CR in a header) on a raw socket;
 * resolves with everything the server wrote before it closed the connection (or after timeoutMs).
 */
export function rawHttp(url: string, payload: string, options: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return import('node:net').then(
    ({ connect }) =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(port), hostname);
        let out = '';
        const done = (): void => {
          clearTimeout(timer);
          resolve(out);
        };
        const timer = setTimeout(() => socket.destroy(), options.timeoutMs ?? 3_000);
        socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
        socket.on('error', done);
        socket.on('close', done);
        socket.write(payload, 'latin1', () => {
          if (options.halfClose) socket.end();
        });
      }),
  );
}

/** Status and body of a raw HTTP/1.1 response text. */
export function parseRawResponse(text: string): { status: number; headers: string; body: string } {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body: split < 0 ? '' : text.slice(split + 4) };
}

/** Polls `check` every 20 ms until it holds; false once `timeoutMs` has passed (a test never hangs on it). */
export async function pollUntil(check: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Like pollUntil, but throws when the condition is not met in time. */
export async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  if (!(await pollUntil(check, timeoutMs))) throw new Error(`condition not met within ${timeoutMs} ms`);
}
