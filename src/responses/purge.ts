import type { Logger } from 'pino';
import type { ResponseStore } from './response-store.js';

const HOUR_MS = 3_600_000;
const FIRST_RUN_MS = 60_000;

/**
 * Deletes expired stored responses hourly (and once a minute after start), on every replica (a
 * delete is idempotent). Reads hide an expired response at once; this gives its room back. Never
 * throws: a failed run is logged and the next one finishes the work.
 */
export class ResponsesPurge {
  #timer: NodeJS.Timeout | undefined;
  #first: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(private readonly deps: { readonly store: ResponseStore; readonly logger: Logger }) {}

  start(): void {
    this.#first = setTimeout(() => void this.run(), FIRST_RUN_MS).unref();
    this.#timer = setInterval(() => void this.run(), HOUR_MS).unref();
  }

  run(): Promise<void> {
    this.#running ??= this.#once().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async close(): Promise<void> {
    clearTimeout(this.#first);
    clearInterval(this.#timer);
    await this.#running;
  }

  async #once(): Promise<void> {
    try {
      const n = await this.deps.store.purgeExpired();
      if (n > 0) this.deps.logger.info({ responses: n }, 'responses: expired responses deleted');
    } catch (err) {
      this.deps.logger.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, 'responses: deleting expired responses failed; tried again within the hour');
    }
  }
}
