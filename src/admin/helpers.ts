import type { GatewayConfig, ResolvedTenant } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';

/** Query parameters of list routes. */
export const paged: Readonly<Record<string, string>> = {
  limit: 'Items per page, 1-1000 (default 100).',
  after: 'Continue after this item: the `nextCursor` of the previous page.',
};

export function configTenant(config: GatewayConfig, name: string): ResolvedTenant | undefined {
  return Object.hasOwn(config.tenants, name) ? config.tenants[name] : undefined;
}

export function notFound(kind: 'team' | 'key' | 'user', id: string): GatewayError {
  return new GatewayError('resource_not_found', `No ${kind} '${id}'.`);
}

/** Every alias must be configured now (or `*`); the first unknown one is named by its path. */
export function checkModels(config: GatewayConfig, models: readonly string[], path: string): void {
  for (const [i, m] of models.entries()) {
    if (m !== '*' && !Object.hasOwn(config.models, m)) throw new GatewayError('invalid_request', `${path}[${i}]: no model alias '${m}' is configured.`, { param: `${path}[${i}]` });
  }
}

/** `limit` (1-1000, default 100) and `after` of a list request; a bad one is a 400 naming it. */
export function pageOf(query: URLSearchParams): { limit: number; after: string | undefined } {
  const limit = intParam(query, 'limit', 100, 1_000);
  const after = query.get('after') ?? undefined;
  if (after !== undefined && after.length > 256) throw new GatewayError('invalid_request', 'after: must be at most 256 characters.', { param: 'after' });
  return { limit, after };
}

/** An integer query parameter from 1 to `max`, `fallback` when absent; anything else is a 400 naming it. */
export function intParam(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new GatewayError('invalid_request', `${name}: must be an integer from 1 to ${max}.`, { param: name });
  return n;
}
