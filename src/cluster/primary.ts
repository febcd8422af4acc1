import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { ConfigError, loadConfig } from '../config/load.js';
import { watchConfigFile } from '../lifecycle/watch-config.js';
import { createLogger } from '../observability/logger.js';
import { MemoryRateLimiter } from '../ratelimit/memory-limiter.js';
import { ConcurrencySlots, concurrencyHandlers } from './ipc-concurrency.js';
import { limiterHandlers } from './ipc-limiter.js';
import { budgetHandlers } from './ipc-budgets.js';
import { MemoryBudgetLedger } from '../spend/memory-budget-ledger.js';
import { serveRpc, type MessageChannel } from './rpc.js';
import { sharedStoreIssue } from './shared-store.js';

export interface PrimaryOptions {
  readonly configPath: string;
  readonly workers: number;
  readonly watchConfig?: boolean;
}

// Crash-restart backoff: doubles per quick crash from 100 ms up to 10 s; a worker that lived
// this long counts as healthy again.
const RESTART_BASE_MS = 100;
const RESTART_MAX_MS = 10_000;
const HEALTHY_AFTER_MS = 10_000;

function workerChannel(worker: Worker): MessageChannel {
  return {
    send: (message) => {
      if (!worker.isConnected()) throw new Error('worker disconnected');
      worker.send(message as object);
    },
    onMessage: (handler) => {
      worker.on('message', handler);
      return () => worker.off('message', handler);
    },
  };
}

/**
 * The primary of `serve --workers N` (node:cluster): forks N workers sharing one port, serves
 * their rate-limit decisions and concurrency slots from one in-memory limiter and one set of
 * slots (exact across workers; an exited worker's slots are released) and aggregates
 * their metrics for /metrics. Refuses a config whose control plane uses the embedded database
 * (shared-store.ts), which one process owns. Restarts a crashed worker with backoff; forwards SIGHUP (and, with
 * --watch-config, file changes) as SIGHUP and SIGTERM/SIGINT as SIGTERM; resolves 0 once every
 * worker has drained and exited 0. A second SIGTERM/SIGINT kills the workers and exits 1.
 */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  // Fail fast, with every issue listed, before forking anything.
  const config = await loadConfig(options.configPath);
  const storeIssue = sharedStoreIssue(config, options.workers);
  if (storeIssue) throw new ConfigError([storeIssue], options.configPath);
  const logger = createLogger({ level: config.logging.level, format: config.logging.format });
  const limiter = new MemoryRateLimiter();
  const aggregator = new AggregatorRegistry();
  const slots = new ConcurrencySlots();
  const budgets = new MemoryBudgetLedger();
  const handlers = { ...limiterHandlers(limiter), ...budgetHandlers(budgets), metrics: async () => aggregator.clusterMetrics() };
  cluster.setupPrimary({ exec: process.argv[1] ?? '', args: process.argv.slice(2) });

  const live = new Set<Worker>();
  const quickCrashes = new Map<number, number>();
  let stopping = false;
  let failedExits = 0;
  let listening = 0;
  let onAllExited: (() => void) | undefined;

  const fork = (slot: number): void => {
    const worker = cluster.fork({ LLM_GATEWAY_WORKER_SLOT: String(slot), LLM_GATEWAY_WORKERS: String(options.workers) });
    const startedAt = performance.now();
    live.add(worker);
    serveRpc(workerChannel(worker), { ...handlers, ...concurrencyHandlers(slots, String(worker.id)) });
    worker.on('message', (m: unknown) => {
      if ((m as { tag?: unknown } | null)?.tag !== 'llm-gateway:listening') return;
      listening++;
      if (listening === options.workers) logger.info({ workers: options.workers, pid: process.pid }, 'all workers listening');
    });
    worker.on('exit', (code, signal) => {
      live.delete(worker);
      // Its requests are gone with it: their concurrency slots must not stay held.
      const freed = slots.releaseAll(String(worker.id));
      if (freed > 0) logger.warn({ worker: worker.id, pid: worker.process.pid, slots: freed }, 'released the concurrency slots of an exited worker');
      if (stopping) {
        if (code !== 0) failedExits++;
        logger.info({ worker: worker.id, pid: worker.process.pid, code, signal }, 'worker exited');
        if (live.size === 0) onAllExited?.();
        return;
      }
      const lived = performance.now() - startedAt;
      const crashes = lived >= HEALTHY_AFTER_MS ? 0 : (quickCrashes.get(slot) ?? 0) + 1;
      quickCrashes.set(slot, crashes);
      const delayMs = crashes === 0 ? 0 : Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (crashes - 1));
      logger.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker died; restarting');
      setTimeout(() => {
        if (!stopping) fork(slot);
      }, delayMs);
    });
  };

  const forward = (signal: NodeJS.Signals): void => {
    for (const worker of live) worker.process.kill(signal);
  };
  const onHup = (): void => {
    logger.info({ workers: live.size }, 'SIGHUP: workers reload the config');
    forward('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  const unwatch = options.watchConfig ? await watchConfigFile(options.configPath, onHup, (err) => logger.error({ err }, 'config watch failed; SIGHUP still reloads')) : undefined;

  const stopped = new Promise<void>((resolve) => {
    onAllExited = resolve;
    const stop = (signal: string): void => {
      if (stopping) {
        logger.warn({ signal }, 'second stop request: killing workers');
        forward('SIGKILL');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal, workers: live.size }, 'shutting down: workers drain');
      if (live.size === 0) resolve();
      forward('SIGTERM');
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

  // Handlers first, then the workers, so a signal at any time after this is handled.
  for (let slot = 0; slot < options.workers; slot++) fork(slot);
  logger.info({ workers: options.workers, pid: process.pid }, 'llm-gateway primary started');
  await stopped;
  process.off('SIGHUP', onHup);
  unwatch?.();
  logger.info({ failedExits }, 'all workers exited');
  return failedExits === 0 ? 0 : 1;
}
