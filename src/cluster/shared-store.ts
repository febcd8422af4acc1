import type { ConfigIssue, GatewayConfig } from '../config/load.js';

/**
 * Why a config cannot run as `serve --workers N`, if it cannot: the embedded database (PGlite)
 * lives inside one process. On disk, its data directory is locked by the first worker and the
 * others could not start; `:memory:` would give every worker a database of its own, so a key made
 * through one worker would be unknown to the rest. Only a PostgreSQL server is shared.
 */
export function sharedStoreIssue(config: GatewayConfig, workers: number): ConfigIssue | undefined {
  const database = config.state.database;
  if (database === undefined || database.url !== undefined || workers < 2) return undefined;
  const instead = `run one process (without --workers), or give the workers a PostgreSQL server to share (state.database.url or the DATABASE_URL environment variable)`;
  if (database.dataDir === ':memory:') {
    return {
      path: 'state.database.dataDir',
      message: `':memory:' gives each process a throw-away database of its own, so with --workers ${workers} each worker would know different teams and keys: ${instead}`,
    };
  }
  return {
    path: 'state.database.dataDir',
    message: `the embedded database (data directory ${database.dataDir}) serves one process, and --workers ${workers} would open it from ${workers}: ${instead}`,
  };
}
