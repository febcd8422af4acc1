/**
 * Builds the batch engine for a gateway whose control plane is on: BullMQ on the gateway's Redis
 * with `state.backend: redis` (every replica works the same batches), else the embedded engine in
 * this process. Imported dynamically by the composition root, so a gateway without the control
 * plane loads neither.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { GatewayConfig } from '../../config/load.js';
import type { ControlPlane } from '../../control/control-plane.js';
import type { RuntimeHolder } from '../../lifecycle/runtime-holder.js';
import type { BatchEngine } from '../engine.js';
import { validateBatch } from '../validate.js';
import { EmbeddedBatchEngine, type EngineDeps } from './embedded-engine.js';
import type { BatchRunnerMetrics } from './item-step.js';

export interface LoadEngineDeps {
  readonly config: GatewayConfig;
  readonly control: ControlPlane;
  readonly holder: RuntimeHolder;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: BatchRunnerMetrics;
  readonly random?: () => number;
  /** The request log's flush, when it is on (item-step.ts: durable). */
  readonly flushRequestLog?: () => Promise<void>;
  /** Live API requests in flight in this process (the edge's count): batch items yield to them. */
  readonly liveRequests?: () => number;
}

/** Between two warnings of one kind: a dead database would otherwise log every poll. */
const WARN_EVERY_MS = 30_000;

/** Logs a runner failure once per kind per WARN_EVERY_MS, with how many were not logged since. */
function throttledWarning(logger: Logger, clock: Clock): (during: string, err: unknown) => void {
  const last = new Map<string, { atMs: number; skipped: number }>();
  return (during, err) => {
    const seen = last.get(during);
    const now = clock.nowMs();
    if (seen && now - seen.atMs < WARN_EVERY_MS) {
      seen.skipped++;
      return;
    }
    last.set(during, { atMs: now, skipped: 0 });
    // The message only: a driver error may quote a query's parameters.
    logger.warn({ err: { message: err instanceof Error ? err.message : String(err) }, ...(seen?.skipped ? { notLogged: seen.skipped } : {}) }, `${during} failed; retrying`);
  };
}

/**
 * Items to run at once: `concurrency` while no live request is in flight, `concurrencyWhileBusy`
 * while any is. Priority orders who gets a freed slot or connection; this keeps the batch's own
 * work (its requests, and on the embedded database its queries, on this process's one event loop)
 * from taking the time live requests need.
 */
function concurrencyNow(settings: GatewayConfig['batches'], liveRequests: () => number): () => number {
  const busy = Math.min(settings.concurrencyWhileBusy, settings.concurrency);
  return () => (liveRequests() > 0 ? busy : settings.concurrency);
}

export async function loadBatchEngine(deps: LoadEngineDeps): Promise<BatchEngine> {
  const { config, control, holder, clock, logger } = deps;
  const settings = config.batches;
  const engineDeps: EngineDeps = {
    db: () => control.store?.db,
    ready: () => control.loaded,
    validate: async (batchId) => {
      const db = control.store?.db;
      if (!db) throw new Error('the control plane database is not open');
      // An item is no larger than a live request may be.
      await validateBatch(db, batchId, { maxLines: settings.maxLines, maxLineBytes: config.server.bodyLimitBytes });
    },
    owner: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    settings,
    clock,
    acquire: () => holder.acquire(),
    random: deps.random ?? Math.random,
    logger,
    metrics: deps.metrics,
    // Twice: a flush already running when the row was buffered does not carry it.
    durable: deps.flushRequestLog && (async () => {
      await deps.flushRequestLog?.();
      await deps.flushRequestLog?.();
    }),
    graceMs: config.server.shutdownGraceMs,
    onError: throttledWarning(logger, clock),
    ...(deps.liveRequests ? { concurrencyNow: concurrencyNow(settings, deps.liveRequests) } : {}),
  };
  if (config.state.backend === 'redis' && config.state.redis) {
    const { BullBatchEngine } = await import('./bull-engine.js');
    return new BullBatchEngine({ ...engineDeps, redis: config.state.redis });
  }
  return new EmbeddedBatchEngine(engineDeps);
}
