import type { GatewayConfig } from '../config/load.js';

/** Server settings a reload cannot apply to a listening server (all but the drain timings). */
export function serverSettingsChanged(before: GatewayConfig, after: GatewayConfig): boolean {
  const fixed = ({ drainDelayMs: _d, shutdownGraceMs: _g, ...rest }: GatewayConfig['server']): string => JSON.stringify(rest);
  return fixed(before.server) !== fixed(after.server);
}
