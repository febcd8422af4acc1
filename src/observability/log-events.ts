import type { Logger } from 'pino';
import type { GatewayEvents, RequestFinishedEvent } from './events.js';

/** Writes the one-line-per-request access log and the state changes operators need to see. */
export function logSubscriber(logger: Logger): Partial<GatewayEvents> {
  return {
    requestFinished(e: RequestFinishedEvent): void {
      const level = e.outcome === 'internal_error' ? 'error' : 'info';
      logger[level](
        {
          requestId: e.requestId,
          route: e.route,
          tenant: e.tenant,
          model: e.model,
          servedModel: e.servedModel,
          deployment: e.deployment,
          attempts: e.attempts,
          status: e.status,
          outcome: e.outcome,
          errorCode: e.errorCode,
          stream: e.stream,
          durationMs: round(e.durationMs),
          ttftMs: e.timeToFirstTokenMs === undefined ? undefined : round(e.timeToFirstTokenMs),
          upstreamMs: round(e.upstreamMs),
          promptTokens: e.usage?.promptTokens,
          completionTokens: e.usage?.completionTokens,
          usageEstimated: e.usage?.estimated,
        },
        'request',
      );
    },
    breakerTransition(e): void {
      logger.warn({ deployment: e.deployment, from: e.from, to: e.to, reason: e.reason }, 'circuit breaker state change');
    },
    retryBudgetExhausted(e): void {
      logger.warn({ requestId: e.requestId, model: e.alias }, 'retry budget exhausted; not retrying');
    },
    configReloaded(e): void {
      if (e.initial) return;
      if (e.result === 'success') logger.info({ configVersion: e.version, added: e.added, removed: e.removed, rebuilt: e.rebuilt }, 'config reloaded');
      else logger.error({ configVersion: e.version, issues: e.issues }, 'config reload rejected; the previous config keeps serving');
    },
    stateBreakerTransition(e): void {
      // Operators need to know limits are running on local fallbacks (or refusing).
      logger.warn({ from: e.from, to: e.to }, 'shared state (Redis) breaker state change');
    },
    cooldown(e): void {
      logger.info({ deployment: e.deployment, durationMs: e.durationMs }, 'deployment cooling down after provider 429');
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
