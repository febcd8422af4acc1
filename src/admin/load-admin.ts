import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { GatewayConfig } from '../config/load.js';
import type { ControlPlane } from '../control/control-plane.js';
import type { Route } from '../http/routes.js';
import type { GatewayEvents } from '../observability/events.js';
import type { RuntimeHolder } from '../lifecycle/runtime-holder.js';
import type { LiveAggregator } from '../observability/live/live-aggregator.js';
import type { Cooldowns } from '../routing/cooldowns.js';
import type { BatchEngine } from '../batches/engine.js';

/**
 * Loads the admin API (and with it the query builder) for a config that has an `admin` block,
 * with the web console that calls it (/ui).
 * Imported dynamically by the composition root, so a gateway without one never loads it.
 */
export async function loadAdminApi(deps: {
  readonly control: ControlPlane;
  readonly config: GatewayConfig;
  readonly holder: RuntimeHolder;
  readonly identity: TokenVerifier | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: Pick<GatewayEvents, 'controlPlaneUnavailable' | 'auditEventDropped'>;
  /** This process's live traffic (the console's live page and deployments view). */
  readonly live?: LiveAggregator;
  readonly cooldowns?: Cooldowns;
  /** The batch runner (dead letters replayed through the admin API go to it). */
  readonly batches?: Pick<BatchEngine, 'requeue'>;
}): Promise<{ routes: Route[]; security: { close(): Promise<void> }; live: { closeAll(): void } | undefined }> {
  const [{ adminRoutes }, { SecurityAuditQueue }, { LiveHub }, { consoleRoutes, loadConsoleAssets }] = await Promise.all([
    import('./admin-api.js'),
    import('../control/audit-queue.js'),
    import('./live-hub.js'),
    import('./console-assets.js'),
  ]);
  const { control, config, holder, clock, logger } = deps;
  const security = new SecurityAuditQueue(() => control.store?.db, clock, {
    onError: (err) => {
      deps.events.controlPlaneUnavailable({ during: 'audit' });
      logger.warn({ err: { message: err.message } }, 'audit: security events could not be written yet');
    },
    onDropped: () => deps.events.auditEventDropped({}),
  });
  const bootstrap = config.admin?.bootstrapKey?.reveal();
  const hub = deps.live ? new LiveHub(deps.live) : undefined;
  const routes = adminRoutes({
    ...(deps.live && hub ? { live: { aggregator: deps.live, hub } } : {}),
    runtime: () => holder.current,
    ...(deps.cooldowns ? { cooldowns: deps.cooldowns } : {}),
    ...(deps.batches ? { batches: deps.batches } : {}),
    control,
    security,
    clock,
    rotationGraceMs: config.admin?.rotationGraceMs ?? 86_400_000,
    actors: {
      bootstrapDigest: bootstrap === undefined ? undefined : createHash('sha256').update(bootstrap, 'latin1').digest(),
      snapshot: () => control.snapshot,
      tenants: () => holder.current.config.tenants,
      identity: deps.identity,
      clock,
    },
  });
  // The web console at /ui, beside the API it calls (docs/console.md).
  const assets = await loadConsoleAssets();
  if (assets.files.size === 0) logger.warn('the console (/ui) is not built: run npm run build');
  const signIn = config.identity?.console && { issuer: config.identity.jwt.issuer, clientId: config.identity.console.clientId, scopes: config.identity.console.scopes };
  return { routes: [...routes, ...consoleRoutes(assets, signIn)], security, live: hub };
}
