import type { Logger } from 'pino';

const HOUR_MS = 3_600_000;
/** The first run comes soon after start, not an hour later, so a restart does not postpone the work. */
const FIRST_RUN_MS = 60_000;

/**
 * Housekeeping run hourly (and once a minute after start) on every replica, so the work must be
 * safe to repeat (deleting what has expired). One run at a time: a run asked for while one is
 * going joins it. Never throws: a failed run is logged with `failureMessage`, and the next one
 * finishes the work. The timers do not keep the process alive; `close` waits for a run going.
 */
export class HourlyJob {
  #timer: NodeJS.Timeout | undefined;
  #first: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly failure: { readonly logger: Logger; readonly message: string },
  ) {}

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
      await this.work();
    } catch (err) {
      this.failure.logger.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, this.failure.message);
    }
  }
}
