import { createHash } from 'node:crypto';
import type { GatewayConfig } from './load.js';
import { Secret } from './secret.js';

/**
 * A digest of everything that shapes one compiled deployment: its own settings (secret values
 * included, as digests), the global timeouts it inherits, the breaker settings and the queue
 * settings (its connection waits and their bounds). Equal
 * fingerprints mean a reload may keep the compiled deployment as it is. Never logged.
 */
export function deploymentFingerprint(config: GatewayConfig, name: string): string | undefined {
  const deployment = config.deployments[name];
  if (deployment === undefined) return undefined;
  const text = JSON.stringify({ deployment, timeouts: config.timeouts, breaker: config.circuitBreaker, queue: config.queue }, function (this: Record<string, unknown>, key, value: unknown) {
    // `value` has already been through Secret.toJSON ("[secret]"); compare the real value.
    const original = this[key];
    return original instanceof Secret ? { secret: createHash('sha256').update(original.reveal()).digest('hex') } : value;
  });
  return createHash('sha256').update(text).digest('hex');
}
