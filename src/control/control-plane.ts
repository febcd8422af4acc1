import type { Logger } from 'pino';
import type { ControlView } from '../auth/authenticator.js';
import type { Clock } from '../clock.js';
import type { ResolvedDatabase } from '../config/load.js';
import type { GatewayEvents } from '../observability/events.js';
import { emptySnapshot, type ControlSnapshot } from './snapshot.js';
import type { ControlStore } from './store/store.js';
import type { ControlSync } from './sync.js';

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * The control plane of one gateway process: the store, and the sync loop that keeps this
 * replica's snapshot current. Built at once (the authenticator holds it as its ControlView);
 * opened by `start()`. A store that cannot be reached at start is retried in the background
 * with backoff: the data plane serves config keys meanwhile, /ready says not ready (API keys
 * are unknown until the first snapshot), and the admin API answers 503.
 */
export class ControlPlane implements ControlView {
  #store: ControlStore | undefined;
  #sync: ControlSync | undefined;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MIN_MS;
  #opening: Promise<void> | undefined;

  constructor(
    private readonly settings: ResolvedDatabase,
    private readonly deps: { readonly clock: Clock; readonly logger: Logger; readonly events: Pick<GatewayEvents, 'controlPlaneSynced' | 'controlPlaneUnavailable'> },
  ) {}

  get snapshot(): ControlSnapshot {
    return this.#sync?.snapshot ?? emptySnapshot;
  }

  touch(keyId: string): void {
    this.#sync?.touch(keyId);
  }

  /** The store once open; undefined before (the admin API answers 503 then). */
  get store(): ControlStore | undefined {
    return this.#store;
  }

  get sync(): ControlSync | undefined {
    return this.#sync;
  }

  /** True once the first snapshot is loaded: API keys made through the admin API are known. */
  get loaded(): boolean {
    return this.#sync !== undefined;
  }

  /**
   * Opens the store, migrates it and loads the first snapshot. The embedded store's failures
   * are fatal (rejects: a directory in use, a newer schema); a server that cannot be reached is
   * retried in the background and this resolves at once.
   */
  async start(): Promise<void> {
    try {
      await this.#open();
    } catch (err) {
      if (this.settings.url === undefined || isSchemaError(err)) throw err;
      this.deps.logger.error({ err: redact(err) }, 'control plane: the database cannot be reached; serving config keys, retrying in the background');
      this.#scheduleRetry();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await this.#opening?.catch(() => undefined);
    await this.#sync?.close().catch(() => undefined);
    await this.#store?.close();
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      void this.#open().then(
        () => this.deps.logger.info('control plane: database reached; API keys loaded'),
        (err: unknown) => {
          this.deps.logger.warn({ err: redact(err), retryInMs: this.#retryMs }, 'control plane: the database still cannot be reached');
          this.#scheduleRetry();
        },
      );
    }, this.#retryMs);
    this.#retryTimer.unref();
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
  }

  #open(): Promise<void> {
    this.#opening = (async () => {
      const { openStore } = await import('./store/open-store.js');
      const { ControlSync } = await import('./sync.js');
      const { logger, clock, events } = this.deps;
      const { url, ...rest } = this.settings;
      const { store, migrations } = await openStore({ ...rest, url: url?.reveal() }, (err, where) => logger.warn({ err: redact(err), where }, 'control plane: database connection problem'));
      if (this.#closed) {
        await store.close();
        return;
      }
      if (migrations.applied.length > 0) logger.info({ applied: migrations.applied, schema: migrations.current }, 'control plane: migrations applied');
      const sync = new ControlSync(store, {
        resyncMs: this.settings.resyncMs,
        lastUsedFlushMs: this.settings.lastUsedFlushMs,
        clock,
        onLoaded: (s, ms) => {
          events.controlPlaneSynced({ version: s.version, apiKeys: s.keys.size, teams: s.teams.size, durationMs: ms });
          logger.debug({ version: s.version, keys: s.keys.size, teams: s.teams.size, ms: Math.round(ms) }, 'control plane: snapshot loaded');
        },
        onError: (err, during) => {
          events.controlPlaneUnavailable({ during });
          logger.warn({ err: redact(err), during }, during === 'load' ? 'control plane: the database cannot be read; keeping the last snapshot' : "control plane: writing keys' lastUsedAt failed; retried at the next flush");
        },
      });
      try {
        await sync.start();
      } catch (err) {
        await sync.close().catch(() => undefined);
        await store.close();
        throw err;
      }
      this.#store = store;
      this.#sync = sync;
      logger.info({ store: store.kind, version: sync.snapshot.version, keys: sync.snapshot.keys.size, teams: sync.snapshot.teams.size }, 'control plane ready');
    })();
    return this.#opening;
  }
}

/** Schema problems (a newer or edited migration) are not cured by waiting. */
function isSchemaError(err: unknown): boolean {
  return err instanceof Error && /migration/.test(err.message);
}

/**
 * node-postgres errors can quote the connection string (with its password) in their message:
 * logged as their code and a message with any URL's credentials removed.
 */
export function redact(err: unknown): { message: string; code?: string } {
  const e = err as { message?: unknown; code?: unknown };
  const message = String(e?.message ?? err).replace(/(postgres(?:ql)?:\/\/)[^@\s/]*@/gi, '$1***@');
  return typeof e?.code === 'string' ? { message, code: e.code } : { message };
}
