/**
 * The one compile step `serve` and `check-config` share: a validated config becomes the gateway
 * `serve` runs. check-config builds it offline (no listener, no Redis connection; upstream pools
 * connect only when used) and throws it away.
 */
import { createGateway, type Gateway, type GatewayOptions } from '../app.js';
import { ConfigError, loadConfig, type GatewayConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';

/**
 * createGateway, with any throw turned into a ConfigError naming `source`. The schema rejects
 * every value a constructor would refuse, so a throw here is a gap in the schema: it is still
 * reported as a config problem (one line, no stack), by serve and check-config alike.
 */
export function compileGateway(config: GatewayConfig, options: GatewayOptions, source = 'config'): Gateway {
  try {
    return createGateway(config, options);
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot be compiled: ${err instanceof Error ? err.message : String(err)}` }], source);
  }
}

/** check-config: load, validate and compile `path` as serve would, opening nothing. Throws ConfigError listing every problem. */
export async function checkConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  const config = await loadConfig(path, env);
  const gateway = compileGateway(config, { offline: true, logger: createLogger({ level: 'silent', format: 'json' }) }, path);
  await gateway.close();
  return config;
}
