import type { Gateway, GatewayOptions, ReloadResult } from '../app.js';
import { loadConfig, type GatewayConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { capYoungGeneration } from '../young-generation.js';
import { compileGateway } from './compile-gateway.js';
import { watchConfigFile } from './watch-config.js';

export interface ServeOptions {
  readonly configPath: string;
  readonly host?: string;
  readonly port?: number;
  /** Reload when the config file changes, as well as on SIGHUP. */
  readonly watchConfig?: boolean;
  /** Fields every log line carries (cluster workers: their slot). */
  readonly logBindings?: Readonly<Record<string, unknown>>;
  /** Extra gateway options for the loaded config (cluster workers: their IPC limiter, metrics source). */
  readonly gateway?: (config: GatewayConfig) => GatewayOptions;
  /** Called once listening (cluster workers tell the primary). */
  readonly onListening?: (gateway: Gateway, url: string) => void;
  /** Resolves when something other than a signal asks this process to stop (primary gone). */
  readonly stopRequested?: Promise<void>;
  /**
   * Cluster workers ignore SIGINT: Ctrl-C reaches the whole process group, and the primary
   * decides (it forwards SIGTERM).
   */
  readonly ignoreSigint?: boolean;
}

/**
 * `llm-gateway serve` in one process: listen, reload on SIGHUP (and file changes when asked),
 * drain on SIGTERM/SIGINT and resolve 0 once drained. A second SIGTERM/SIGINT during the
 * drain exits at once with 1. Rejects with ConfigError when the initial config is invalid.
 */
export async function serveProcess(options: ServeOptions): Promise<number> {
  const config = await loadConfig(options.configPath);
  const logger = options.logBindings ? createLogger({ level: config.logging.level, format: config.logging.format }).child(options.logBindings) : undefined;
  const gateway = compileGateway(config, { ...options.gateway?.(config), ...(logger ? { logger } : {}) }, options.configPath);
  const log = gateway.logger;

  // Signal handlers and the file watch are in place before the "listening" line, so whoever
  // waits for that line can signal or edit the file at once.
  // Reloads run one at a time, in order: a burst of signals or file events cannot interleave.
  let reloading: Promise<ReloadResult | undefined> = Promise.resolve(undefined);
  const reload = (trigger: string): void => {
    reloading = reloading.then(() => {
      log.info({ trigger, file: options.configPath }, 'reloading config');
      return gateway.reloadFromFile(options.configPath);
    });
  };
  const onHup = (): void => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  const unwatch = options.watchConfig
    ? await watchConfigFile(options.configPath, () => reload('file change'), (err) => log.error({ err }, 'config watch failed; SIGHUP still reloads'))
    : undefined;

  let finished = false;
  const stopped = new Promise<void>((resolve) => {
    let signalled = false;
    const stop = (reason: string): void => {
      if (finished) return;
      if (signalled) {
        log.warn({ reason }, 'second stop request during drain: exiting now');
        process.exit(1);
      }
      signalled = true;
      log.info({ reason }, 'shutting down');
      void gateway.shutdown().then(resolve, (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => {
      if (!options.ignoreSigint) stop('SIGINT');
    });
    void options.stopRequested?.then(() => stop('primary gone'));
  });

  let address: Awaited<ReturnType<Gateway['listen']>>;
  try {
    address = await gateway.listen({
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
    });
  } catch (err) {
    // Port in use, say. Close what was opened (the Redis connection reconnects forever and
    // would keep the process alive), so the CLI exits non-zero at once.
    finished = true;
    process.off('SIGHUP', onHup);
    unwatch?.();
    await gateway.close().catch(() => undefined);
    throw err;
  }
  log.info({ url: address.url, ...(address.metricsUrl ? { metricsUrl: address.metricsUrl } : {}), ...(address.adminUrl ? { adminUrl: address.adminUrl } : {}), pid: process.pid, models: Object.keys(config.models).length, deployments: Object.keys(config.deployments).length }, 'llm-gateway listening');
  options.onListening?.(gateway, address.url);
  // Started: from now on the young generation may grow, to its cap (young-generation.ts).
  capYoungGeneration();

  await stopped;
  finished = true;
  process.off('SIGHUP', onHup);
  unwatch?.();
  await reloading;
  log.info('drained; exiting');
  return 0;
}
