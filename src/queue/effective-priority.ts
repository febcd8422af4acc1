/**
 * A request's priority class: an in-process caller's (`RequestContext.priority`, e.g. batch
 * items at `low`) wins; else the `x-gateway-priority` header, lowered to the highest class the
 * team allows (asking for more is not refused: the request runs at the ceiling, and
 * `x-gateway-priority` on the response says which class it got); else the team's default.
 */
import type { Principal } from '../auth/principal.js';
import { GatewayError } from '../errors/gateway-error.js';
import { clampPriority } from './fair-queue.js';
import type { Priority } from './priority.js';

export const priorityHeader = 'x-gateway-priority';

/** The class to queue at; a header that names no class is a 400 (`param: x-gateway-priority`). */
export function effectivePriority(fixed: Priority | undefined, principal: Principal, headers: Readonly<Record<string, string | string[] | undefined>> | undefined): Priority {
  if (fixed !== undefined) return fixed;
  const raw = headers?.[priorityHeader];
  const place = principal.queue;
  if (raw === undefined) return place?.priority ?? 'normal';
  const wanted = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
  if (wanted !== 'high' && wanted !== 'normal' && wanted !== 'low') {
    throw new GatewayError('invalid_request', `The ${priorityHeader} header must be one of high, normal or low.`, { param: priorityHeader });
  }
  return clampPriority(wanted, place?.maxPriority ?? 'normal');
}
