/**
 * An engine that validates batches and runs nothing: what the Batch API's own tests use
 * (GatewayOptions.batchEngine), so their batches stay `in_progress` with their items queued (the
 * runner has tests of its own). Submits are validated one at a time, in order.
 */
import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import { batches } from '../../src/control/store/schema.js';
import type { ControlDb } from '../../src/control/store/store.js';
import type { BatchEngine } from '../../src/batches/engine.js';
import { validateBatch, type ValidateSettings } from '../../src/batches/validate.js';

export class ValidateOnlyEngine implements BatchEngine {
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(private readonly deps: { readonly db: () => ControlDb | undefined; readonly settings: () => ValidateSettings; readonly logger: Logger }) {}

  submit(batchId: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#chain = this.#chain.then(() => this.#validate(batchId));
    return Promise.resolve();
  }

  async requeue(): Promise<void> {}

  /** Batches left `validating` by an earlier process are validated now. */
  start(): void {
    this.#chain = this.#chain.then(async () => {
      const db = this.deps.db();
      if (!db) return;
      const left = await db.select({ id: batches.id }).from(batches).where(eq(batches.status, 'validating')).limit(1_000);
      for (const b of left) await this.#validate(b.id);
    }).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#chain;
  }

  async #validate(batchId: string): Promise<void> {
    const db = this.deps.db();
    if (!db || this.#closed) return;
    try {
      await validateBatch(db, batchId, this.deps.settings());
    } catch (err) {
      this.deps.logger.warn({ err: { message: err instanceof Error ? err.message : String(err) }, batchId }, 'batches: validation failed; retried at the next start');
    }
  }
}
