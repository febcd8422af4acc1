/** What every stored-responses route shares: the store, the settings now serving (the caller and the rest are in http/team-routes.ts). */
import type { Logger } from 'pino';
import type { ResponsesConfig } from '../config/schema.js';
import { isStoreUnavailable } from '../control/store/errors.js';
import { GatewayError } from '../errors/gateway-error.js';
import { plausibleId, storeErrors, unavailableRetryMs } from '../http/team-routes.js';
import { StoreNotOpenError, type ResponseStore } from './response-store.js';
import type { SaveBreaker } from './save-breaker.js';

export interface ResponsesApiDeps {
  readonly store: ResponseStore;
  /** `responses.*` and `server.bodyLimitBytes`, read at start (a change needs a restart). */
  readonly settings: { readonly responses: ResponsesConfig; readonly bodyLimitBytes: number };
  readonly logger: Logger;
  readonly metrics: { responseStored(result: 'stored' | 'failed'): void };
  /** Skips saves for a while after one failed, so a dead store does not cost every answer saveTimeoutMs. */
  readonly saveBreaker: SaveBreaker;
}

/** Stored responses live in the control-plane database: one not reachable, or not open yet, is a 503 to retry. */
export const { withStore } = storeErrors(
  () => new GatewayError('control_plane_unavailable', 'Stored responses live in the control-plane database, which cannot be reached. Retry later.', { retryAfterMs: unavailableRetryMs }),
  (err) => err instanceof StoreNotOpenError || isStoreUnavailable(err),
);

export function responseNotFound(deps: ResponsesApiDeps, id: string): GatewayError {
  const shown = plausibleId(id) ? id : '(invalid id)';
  return new GatewayError('resource_not_found', `No response with id '${shown}' (it was not stored, was deleted or has expired).${perProcessNote(deps)}`, { param: 'response_id' });
}

/** Without a control plane, responses live in each process: a miss may be another process's response, and the client should know. */
export function perProcessNote(deps: ResponsesApiDeps): string {
  return deps.store.kind === 'memory' ? ' This gateway keeps responses in the memory of each process: with several workers or replicas, one stored by another is not found here.' : '';
}
