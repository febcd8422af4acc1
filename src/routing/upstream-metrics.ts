/**
 * Scrapes self-hosted servers' own Prometheus metrics (`deployments.<d>.metrics`: vLLM, Triton)
 * into `deployment.load.scraped`, for the load-aware strategies (docs/routing.md "Server
 * metrics"). In the background, never on the request path: one timer per deployment, one scrape
 * at a time, each with its own deadline and body bound. A failed scrape leaves the last good one
 * in place; it ages out after `staleAfterMs` and routing falls back to the live signals alone.
 * Nothing is logged per scrape: gateway_upstream_metrics_scrapes_total counts every outcome.
 */
import type { Clock } from '../clock.js';
import type { GatewayConfig } from '../config/load.js';
import type { GatewayEvents } from '../observability/events.js';
import { prometheusText } from '../lazy-packages.js';
import { Pool } from '../upstream/undici-pool.js';
import type { RuntimeDeployment } from './runtime-types.js';
import { readServerMetrics, type CounterTotals, type ServerMetricsFormat } from './upstream-metrics-parse.js';

/** A metrics page larger than this is not a server's metrics (vLLM's is ≈100 KiB): the scrape is `invalid`. */
export const SCRAPE_BODY_LIMIT_BYTES = 1 << 20;

export type ScrapeOutcome = 'ok' | 'error' | 'timeout' | 'invalid';

export interface ScrapeSettings {
  readonly url: string;
  readonly format: ServerMetricsFormat;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly staleAfterMs: number;
}

export interface ScraperDeps {
  readonly clock: Clock;
  readonly events: GatewayEvents;
}

/** The deployment's `metrics` block with its defaults applied, or undefined when it has none. */
export function scrapeSettings(deployment: GatewayConfig['deployments'][string]): ScrapeSettings | undefined {
  const m = deployment.metrics;
  if (m === undefined) return undefined;
  return {
    url: m.url,
    format: m.format ?? (deployment.provider === 'triton' ? 'triton' : 'vllm'),
    intervalMs: m.intervalMs,
    timeoutMs: m.timeoutMs,
    staleAfterMs: m.staleAfterMs ?? 3 * m.intervalMs,
  };
}

/** Why a scrape's request was aborted. */
const TIMED_OUT = Symbol('scrape deadline');
const STOPPED = Symbol('scraper stopped');

class BodyTooLarge extends Error {}
class BadStatus extends Error {}

/** Scrapes one deployment every `intervalMs` from `start()` until `stop()`. */
export class MetricsScraper {
  readonly #deployment: Pick<RuntimeDeployment, 'name' | 'load'>;
  readonly #settings: ScrapeSettings;
  readonly #deps: ScraperDeps;
  readonly #path: string;
  /** One connection: scrapes of one deployment never overlap. */
  readonly #pool: Pool;
  #timer: NodeJS.Timeout | undefined;
  /** The scrape running now, aborted by stop(). */
  #running: AbortController | undefined;
  #counters: CounterTotals | undefined;
  #stopped = false;

  constructor(deployment: Pick<RuntimeDeployment, 'name' | 'load'>, settings: ScrapeSettings, deps: ScraperDeps) {
    this.#deployment = deployment;
    this.#settings = settings;
    this.#deps = deps;
    const url = new URL(settings.url);
    this.#path = url.pathname + url.search;
    this.#pool = new Pool(url.origin, { connections: 1, connect: { timeout: settings.timeoutMs } });
  }

  /** Scrapes now, then every `intervalMs` (an unref'd timer: it never keeps the process alive). */
  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.tick(), this.#settings.intervalMs);
    this.#timer.unref();
    void this.tick();
  }

  /**
   * One scrape, unless one is still running (that tick is skipped) or the scraper is stopped.
   * Resolves with the outcome (undefined when skipped, or stopped meanwhile); never rejects.
   */
  async tick(): Promise<ScrapeOutcome | undefined> {
    if (this.#stopped || this.#running !== undefined) return undefined;
    const { clock, events } = this.#deps;
    const controller = new AbortController();
    this.#running = controller;
    const started = clock.nowMs();
    // Covers connect, headers and the whole body.
    const deadline = setTimeout(() => controller.abort(TIMED_OUT), this.#settings.timeoutMs);
    deadline.unref();
    let outcome: ScrapeOutcome;
    try {
      const text = await this.#fetch(controller.signal);
      if (this.#stopped) return undefined;
      outcome = this.#apply(text);
    } catch (err) {
      if (this.#stopped) return undefined;
      outcome = err instanceof BodyTooLarge ? 'invalid' : controller.signal.reason === TIMED_OUT || isConnectTimeout(err) ? 'timeout' : 'error';
    } finally {
      clearTimeout(deadline);
      this.#running = undefined;
    }
    events.upstreamMetricsScrape({ deployment: this.#deployment.name, outcome, durationMs: clock.nowMs() - started });
    return outcome;
  }

  /** Stops the timer, aborts a scrape in flight (not counted) and closes the connection. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#running?.abort(STOPPED);
    await this.#pool.destroy().catch(() => undefined);
  }

  #apply(text: string): ScrapeOutcome {
    const reading = readServerMetrics(this.#settings.format, text, this.#counters);
    if (reading === undefined) return 'invalid';
    this.#counters = reading.counters;
    const load = this.#deployment.load;
    load.scraped = { atMs: this.#deps.clock.nowMs(), ...reading.load };
    load.staleAfterMs = this.#settings.staleAfterMs;
    return 'ok';
  }

  /** The body of a 200 answer as text, at most SCRAPE_BODY_LIMIT_BYTES. */
  async #fetch(signal: AbortSignal): Promise<string> {
    const { statusCode, body } = await this.#pool.request({ method: 'GET', path: this.#path, headers: { accept: 'text/plain' }, signal });
    if (statusCode !== 200) {
      // Read and dropped: undici reads at most 128 KiB of it, else closes the connection.
      await body.dump();
      throw new BadStatus(`status ${statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      // Leaving the loop by a throw destroys the body (and its connection).
      if (size > SCRAPE_BODY_LIMIT_BYTES) throw new BodyTooLarge();
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size).toString('utf8');
  }
}

function isConnectTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'UND_ERR_CONNECT_TIMEOUT';
}

/**
 * The scrapers of the serving config: `follow` it at start and after every reload. A deployment
 * a reload kept (the same compiled object, so the same settings) keeps its scraper; a changed or
 * new one gets a new scraper (its load is new too); a removed one's scraper stops.
 */
export class UpstreamMetrics {
  readonly #deps: ScraperDeps;
  readonly #scrapers = new Map<RuntimeDeployment, MetricsScraper>();
  #stopped = false;

  constructor(deps: ScraperDeps) {
    this.#deps = deps;
  }

  /** Deployments scraped now. */
  get scraping(): readonly RuntimeDeployment[] {
    return [...this.#scrapers.keys()];
  }

  follow(config: GatewayConfig, deployments: ReadonlyMap<string, RuntimeDeployment>): void {
    if (this.#stopped) return;
    const next = new Map<RuntimeDeployment, MetricsScraper>();
    for (const [name, deployment] of deployments) {
      const settings = config.deployments[name] && scrapeSettings(config.deployments[name]);
      if (settings === undefined) continue;
      let scraper = this.#scrapers.get(deployment);
      if (scraper === undefined) {
        prometheusText(); // loaded with the first scraper, not by its first scrape
        scraper = new MetricsScraper(deployment, settings, this.#deps);
        scraper.start();
      }
      next.set(deployment, scraper);
    }
    for (const [deployment, scraper] of this.#scrapers) if (!next.has(deployment)) void scraper.stop();
    this.#scrapers.clear();
    for (const [d, s] of next) this.#scrapers.set(d, s);
  }

  /** Stops every scraper (no timer or connection is left); later `follow` calls do nothing. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const all = [...this.#scrapers.values()];
    this.#scrapers.clear();
    await Promise.all(all.map((s) => s.stop()));
  }
}
