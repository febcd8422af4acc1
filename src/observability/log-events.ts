import type { Logger } from 'pino';
import { accessLogWriter } from './access-log.js';
import type { GatewayEvents } from './events.js';
import { formatUsd } from '../spend/money.js';

/** Writes the one-line-per-request access log and the state changes operators need to see. */
export function logSubscriber(logger: Logger): Partial<GatewayEvents> {
  return {
    requestFinished: accessLogWriter(logger),
    internalError(e): void {
      // The client got a generic 500; the cause and its stack are only here (pino's err serializer).
      logger.error({ requestId: e.requestId, err: e.error }, 'internal error while handling a request');
    },
    breakerTransition(e): void {
      logger.warn({ deployment: e.deployment, from: e.from, to: e.to, reason: e.reason }, 'circuit breaker state change');
    },
    retryBudgetExhausted(e): void {
      logger.warn({ requestId: e.requestId, model: e.alias }, 'retry budget exhausted; not retrying');
    },
    configReloaded(e): void {
      if (e.initial) return;
      if (e.result === 'success' && e.restartRequired.length > 0) {
        logger.warn({ configVersion: e.version, added: e.added, removed: e.removed, rebuilt: e.rebuilt, restartRequired: e.restartRequired }, 'config reloaded; changed settings that apply only after a restart were ignored');
      } else if (e.result === 'success') logger.info({ configVersion: e.version, added: e.added, removed: e.removed, rebuilt: e.rebuilt }, 'config reloaded');
      else logger.error({ configVersion: e.version, issues: e.issues }, 'config reload rejected; the previous config keeps serving');
    },
    stateBreakerTransition(e): void {
      // Operators need to know limits are running on local fallbacks (or refusing).
      logger.warn({ from: e.from, to: e.to }, 'shared state (Redis) breaker state change');
    },
    targetUnpriced(e): void {
      logger.warn(
        { model: e.alias, deployment: e.deployment, upstreamModel: e.upstreamModel },
        "target has no price (no config 'price' and no catalogue entry): its requests cost null; see docs/costs.md",
      );
    },
    budgetSoftLimitCrossed(e): void {
      // Logged by the one replica whose settle crossed it; amounts as exact decimal strings.
      logger.warn(
        { team: e.tenant, budget: e.scope, period: e.period, windowStart: e.windowStart, windowEnd: e.windowEnd, spentUsd: formatUsd(e.spentPico), softLimitUsd: formatUsd(e.softLimitPico), ...(e.limitPico === undefined ? {} : { limitUsd: formatUsd(e.limitPico) }) },
        'budget soft limit crossed',
      );
    },
    cooldown(e): void {
      logger.info({ deployment: e.deployment, durationMs: e.durationMs }, 'deployment cooling down after provider 429');
    },
  };
}
