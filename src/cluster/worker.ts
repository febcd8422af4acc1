import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { GatewayOptions } from '../app.js';
import { ConfigError, type GatewayConfig } from '../config/load.js';
import { serveProcess, type ServeOptions } from '../lifecycle/serve-process.js';
import { FallbackConcurrencyLimiter, type ConcurrencyLimiter } from '../ratelimit/concurrency.js';
import { FallbackRateLimiter } from '../ratelimit/fallback-limiter.js';
import type { RateLimiter } from '../ratelimit/limiter.js';
import { MemoryRateLimiter } from '../ratelimit/memory-limiter.js';
import { systemClock } from '../clock.js';
import type { BudgetLedger } from '../spend/budget-ledger.js';
import { FallbackBudgetLedger } from '../spend/fallback-budget-ledger.js';
import { MemoryBudgetLedger } from '../spend/memory-budget-ledger.js';
import { IpcBudgetLedger } from './ipc-budgets.js';
import { IpcConcurrencyLimiter } from './ipc-concurrency.js';
import { IpcRateLimiter } from './ipc-limiter.js';
import { RpcClient, type MessageChannel } from './rpc.js';
import { sharedStoreIssue } from './shared-store.js';

// A limiter decision (or concurrency slot) or metrics scrape the primary has not answered by then has failed.
const LIMITER_TIMEOUT_MS = 2_000;
const METRICS_TIMEOUT_MS = 6_000;

/**
 * With the in-memory state backend the rate limiter, the concurrency slots and the budget
 * counters live in the primary, so limits and budgets are exact
 * across workers; with Redis every worker uses Redis directly, like any replica.
 */
function limitsLiveInPrimary(config: GatewayConfig): boolean {
  return config.state.backend === 'memory';
}

/**
 * A worker's limiters: the primary's, over IPC, behind the same failure modes as Redis. If the
 * primary does not answer, `open` limits admit against this worker's share (limit ÷ workers)
 * and `closed` ones answer 503 rate_limit_unavailable; never a 500.
 */
export function workerLimiters(rpc: RpcClient, workers: number): { rateLimiter: RateLimiter; concurrency: ConcurrencyLimiter; budgetLedger: BudgetLedger } {
  const processes = (): number => Math.max(1, workers);
  return {
    rateLimiter: new FallbackRateLimiter(new IpcRateLimiter(rpc), { processes, local: new MemoryRateLimiter() }),
    concurrency: new FallbackConcurrencyLimiter(new IpcConcurrencyLimiter(rpc), processes),
    // Budgets too: counted in the primary, a local share while it does not answer.
    budgetLedger: new FallbackBudgetLedger(new IpcBudgetLedger(rpc), { processes, local: new MemoryBudgetLedger(), clock: systemClock }),
  };
}

/** A worker's end of the cluster IPC channel. */
function processChannel(): MessageChannel {
  return {
    send: (message) => {
      if (!process.send || !process.connected) throw new Error('IPC channel closed');
      process.send(message as object);
    },
    onMessage: (handler) => {
      process.on('message', handler);
      return () => process.off('message', handler);
    },
  };
}

/**
 * One worker of `serve --workers N`: a normal gateway whose rate limiter, concurrency slots and
 * /metrics live in the primary (so limits are exact and metrics cover the whole group). Stops like a single
 * process on SIGTERM (the primary forwards it), and also when the primary goes away.
 */
export async function runWorker(options: Omit<ServeOptions, 'gateway' | 'onListening' | 'stopRequested' | 'ignoreSigint'> & { readonly extra?: GatewayOptions }): Promise<number> {
  const channel = processChannel();
  const limiterRpc = new RpcClient(channel, LIMITER_TIMEOUT_MS);
  const metricsRpc = new RpcClient(channel, METRICS_TIMEOUT_MS);
  // Constructing one makes prom-client answer the primary's metric requests from this worker.
  new AggregatorRegistry();
  const contentType = AggregatorRegistry.PROMETHEUS_CONTENT_TYPE;
  let started = false;
  try {
    const code = await serveProcess({
      ...options,
      // The primary watches the file and forwards SIGHUP.
      watchConfig: false,
      ignoreSigint: true,
      logBindings: { worker: Number(process.env.LLM_GATEWAY_WORKER_SLOT ?? cluster.worker?.id ?? 0) },
      gateway: (config) => {
        // The primary checked the file at start; a worker restarted after the file changed checks again.
        const storeIssue = sharedStoreIssue(config, Number(process.env.LLM_GATEWAY_WORKERS ?? 1));
        if (storeIssue) throw new ConfigError([storeIssue], options.configPath);
        return {
          ...options.extra,
          ...(limitsLiveInPrimary(config) ? workerLimiters(limiterRpc, Number(process.env.LLM_GATEWAY_WORKERS ?? 1)) : {}),
          metricsSource: { contentType, text: async () => String(await metricsRpc.call('metrics', null)) },
        };
      },
      onListening: (gateway) => {
        AggregatorRegistry.setRegistries([gateway.metrics.registry]);
        channel.send({ tag: 'llm-gateway:listening' });
      },
      stopRequested: new Promise<void>((resolve) => process.once('disconnect', resolve)),
    });
    started = true;
    return code;
  } finally {
    // The IPC channel would keep the process alive, after a failed start too (a port in use): the
    // worker must exit for the primary to see it and restart it. After a failure, Worker.disconnect()
    // (an intended disconnect, unlike process.disconnect(), after which Node's cluster code exits
    // 0 by itself) lets the process end with the CLI's exit code 1.
    if (!started) cluster.worker?.disconnect();
    else if (process.connected) process.disconnect();
  }
}
