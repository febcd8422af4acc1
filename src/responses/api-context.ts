/** What every stored-responses route shares: the store, the settings now serving, the caller. */
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { ResponsesConfig } from '../config/schema.js';
import { driverError, isStoreUnavailable } from '../control/store/errors.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestScope } from '../http/request-scope.js';
import type { ResponseStore } from './response-store.js';
import { StoreNotOpenError } from './sql-store.js';

export interface ResponsesApiDeps {
  readonly store: ResponseStore;
  /** `responses.*` and `server.bodyLimitBytes`, read at start (a change needs a restart). */
  readonly settings: { readonly responses: ResponsesConfig; readonly bodyLimitBytes: number };
  readonly logger: Logger;
  readonly metrics: { responseStored(result: 'stored' | 'failed'): void };
}

export interface Caller {
  readonly principal: Principal;
  readonly team: string;
  /** The key id, else the signed-in person's subject. */
  readonly createdBy: string;
}

const UNAVAILABLE_RETRY_MS = 5_000;

/** The same authentication as every data-plane request, once. */
export async function callerOf(scope: RequestScope): Promise<Caller> {
  const principal = await scope.runtime.auth.authenticate(scope.authorization);
  return { principal, team: principal.tenant, createdBy: principal.keyId ?? principal.user ?? 'unknown' };
}

/** A database that cannot be reached (or is not open yet) is a 503 to retry; anything else from it is a 500, logged by the edge. */
export function storeError(err: unknown): unknown {
  if (err instanceof GatewayError) return err;
  if (err instanceof StoreNotOpenError || isStoreUnavailable(err)) {
    return new GatewayError('control_plane_unavailable', 'Stored responses live in the control-plane database, which cannot be reached. Retry later.', { retryAfterMs: UNAVAILABLE_RETRY_MS });
  }
  const { code, message } = driverError(err);
  return Object.assign(new Error(message || 'query failed'), code ? { code } : {});
}

export async function withStore<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw storeError(err);
  }
}

/** Ids in paths: what ours look like (bounded, no control characters); anything else names nothing. */
export function plausibleId(id: string): boolean {
  return id.length > 0 && id.length <= 128 && /^[A-Za-z0-9_-]+$/.test(id);
}

export function responseNotFound(deps: ResponsesApiDeps, id: string): GatewayError {
  const shown = plausibleId(id) ? id : '(invalid id)';
  return new GatewayError('resource_not_found', `No response with id '${shown}' (it was not stored, was deleted or has expired).${perProcessNote(deps)}`, { param: 'response_id' });
}

/** Without a control plane, responses live in each process: a miss may be another process's response, and the client should know. */
export function perProcessNote(deps: ResponsesApiDeps): string {
  return deps.store.kind === 'memory' ? ' This gateway keeps responses in the memory of each process: with several workers or replicas, one stored by another is not found here.' : '';
}

export function queryOf(scope: RequestScope): URLSearchParams {
  const url = scope.req.url ?? '';
  const q = url.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
}
