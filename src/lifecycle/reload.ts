/**
 * Hot reload (D-03), in one place: load and validate a file, compile it, swap it in whole, and
 * report what changed, what failed, and what changed but waits for a restart.
 */
import type { Clock } from '../clock.js';
import { ConfigError, loadConfig, type GatewayConfig } from '../config/load.js';
import { Secret } from '../config/secret.js';
import type { GatewayEvents } from '../observability/events.js';
import type { RuntimeHolder } from './runtime-holder.js';

/** How a reload ended; on failure the previous config keeps serving. */
export type ReloadResult =
  | {
      readonly ok: true;
      readonly version: number;
      readonly added: readonly string[];
      readonly removed: readonly string[];
      readonly rebuilt: readonly string[];
      /** Changed settings that were not applied: they are read once at start (restartRequiredKeys). */
      readonly restartRequired: readonly string[];
    }
  | { readonly ok: false; readonly version: number; readonly error: Error };

export interface Reloader {
  /** Compiles `config` and swaps it in whole. Never throws: a config that fails to compile is reported and the old one kept. */
  reload(config: GatewayConfig): ReloadResult;
  /** Reads, validates and resolves a config file (environment included), then `reload`s it. Never throws. */
  reloadFromFile(path: string, env?: NodeJS.ProcessEnv): Promise<ReloadResult>;
}

/**
 * Settings read once, by what lives as long as the process: the listeners and the edge
 * (`server.*`), the state backend (`state.*`) and the cooldowns it holds (`retry.maxCooldownMs`),
 * the edge's client write-stall timeout (`timeouts.idleMs`; as the upstream idle timeout it is
 * compiled per deployment and applies at once), the log format, and the control plane's listener,
 * bootstrap credential and identity provider (`admin`, `identity`: built once, at listen), and the
 * request log's writer (`requestLog`).
 */
const capturedAtStart: readonly string[] = ['server', 'state', 'admin', 'identity', 'budgets.webhook', 'requestLog', 'retry.maxCooldownMs', 'timeouts.idleMs', 'logging.format', 'tracing'];
/** Inside those, what is read again when used: the drain timings (at shutdown) and the default failure mode (per request). */
const readWhenUsed: ReadonlySet<string> = new Set(['server.drainDelayMs', 'server.shutdownGraceMs', 'state.failureMode']);

/**
 * The config paths (leaves, e.g. `server.port`, `state.redis.url`) that differ between `before`
 * and `after` but apply only after a restart. Secrets are compared by value and never returned.
 */
export function restartRequiredKeys(before: GatewayConfig, after: GatewayConfig): string[] {
  const changed: string[] = [];
  for (const path of capturedAtStart) changedLeaves(valueAt(before, path), valueAt(after, path), path, changed);
  return changed;
}

function valueAt(config: GatewayConfig, path: string): unknown {
  let value: unknown = config;
  for (const key of path.split('.')) value = isPlainObject(value) ? value[key] : undefined;
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Secret);
}

function changedLeaves(a: unknown, b: unknown, path: string, out: string[]): void {
  if (readWhenUsed.has(path)) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) changedLeaves(a[key], b[key], `${path}.${key}`, out);
    return;
  }
  if (!sameLeaf(a, b)) out.push(path);
}

function sameLeaf(a: unknown, b: unknown): boolean {
  if (a instanceof Secret || b instanceof Secret) return a instanceof Secret && b instanceof Secret && a.reveal() === b.reveal();
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface ReloaderDeps {
  readonly holder: RuntimeHolder;
  readonly events: GatewayEvents;
  readonly clock: Clock;
  /** Applies what the running process can change in place (the log level). */
  readonly applyInPlace: (config: GatewayConfig) => void;
}

export function createReloader({ holder, events, clock, applyInPlace }: ReloaderDeps): Reloader {
  const rejected = (error: Error): ReloadResult => {
    const version = holder.current.version;
    const issues = error instanceof ConfigError ? error.issues : [{ path: '', message: error.message }];
    events.configReloaded({ result: 'failure', initial: false, version, atMs: clock.wallMs(), added: [], removed: [], rebuilt: [], issues, restartRequired: [] });
    return { ok: false, version, error };
  };
  const reloader: Reloader = {
    reload(next) {
      const previous = holder.current;
      try {
        const swap = holder.swap(next);
        const restartRequired = restartRequiredKeys(previous.config, next);
        applyInPlace(next);
        const { added, removed, rebuilt } = swap;
        events.configReloaded({ result: 'success', initial: false, version: swap.runtime.version, atMs: clock.wallMs(), added, removed, rebuilt, issues: [], restartRequired });
        return { ok: true, version: swap.runtime.version, added, removed, rebuilt, restartRequired };
      } catch (err) {
        return rejected(err instanceof Error ? err : new Error(String(err)));
      }
    },
    async reloadFromFile(path, env = process.env) {
      let next: GatewayConfig;
      try {
        next = await loadConfig(path, env);
      } catch (err) {
        return rejected(err instanceof Error ? err : new Error(String(err)));
      }
      return reloader.reload(next);
    },
  };
  return reloader;
}
