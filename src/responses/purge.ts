import type { Logger } from 'pino';
import { HourlyJob } from '../lifecycle/hourly-job.js';
import type { ResponseStore } from './response-store.js';

/**
 * Deletes expired stored responses hourly (and once a minute after start), on every replica (a
 * delete is idempotent). Reads hide an expired response at once; this gives its room back. Never
 * throws: a failed run is logged and the next one finishes the work.
 */
export class ResponsesPurge extends HourlyJob {
  constructor(deps: { readonly store: ResponseStore; readonly logger: Logger }) {
    super(
      async () => {
        const n = await deps.store.purgeExpired();
        if (n > 0) deps.logger.info({ responses: n }, 'responses: expired responses deleted');
      },
      { logger: deps.logger, message: 'responses: deleting expired responses failed; tried again within the hour' },
    );
  }
}
