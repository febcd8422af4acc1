/**
 * Helpers for the data-plane routes whose state lives in the control-plane database, each row
 * scoped to the caller's team: stored responses (`/v1/responses/{id}`) and the Batch API
 * (`/v1/files`, `/v1/batches`). Each API keeps its own words (the 503's message, its not-found
 * errors); what is the same logic lives here once.
 */
import type { Principal } from '../auth/principal.js';
import { driverError, isStoreUnavailable } from '../control/store/errors.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestScope } from './request-scope.js';

/** The caller of such a request: the same authentication as every data-plane request, scoped to its team. */
export interface Caller {
  readonly principal: Principal;
  readonly team: string;
  /** Who made the row: the key id, else the signed-in person's subject. */
  readonly createdBy: string;
}

/** How long a client is told to wait when the database cannot be reached. */
export const unavailableRetryMs = 5_000;

/** Authenticates once, as the pipeline would. */
export async function callerOf(scope: RequestScope): Promise<Caller> {
  const principal = await scope.runtime.auth.authenticate(scope.authorization);
  return { principal, team: principal.tenant, createdBy: principal.keyId ?? principal.user ?? 'unknown' };
}

/** How one API answers its store's failures. */
export interface StoreErrors {
  /**
   * A database that cannot be reached is a 503 to retry (the API's own message); anything else
   * from it is a bug: a 500, logged by the edge with the driver's message, not drizzle's (which
   * quotes the query's parameters).
   */
  storeError(err: unknown): unknown;
  /** Runs a route's work, turning store failures into the answers above. */
  withStore<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * `unavailable` is the API's 503; `isUnavailable` says which failures mean the database cannot
 * be reached (by default the driver's connection errors; an API adds its own "not open yet").
 */
export function storeErrors(unavailable: () => GatewayError, isUnavailable: (err: unknown) => boolean = isStoreUnavailable): StoreErrors {
  const storeError = (err: unknown): unknown => {
    if (err instanceof GatewayError) return err;
    if (isUnavailable(err)) return unavailable();
    const { code, message } = driverError(err);
    return Object.assign(new Error(message || 'query failed'), code ? { code } : {});
  };
  return {
    storeError,
    async withStore<T>(work: () => Promise<T>): Promise<T> {
      try {
        return await work();
      } catch (err) {
        throw storeError(err);
      }
    },
  };
}

/** Ids in paths and queries: what ours look like (bounded, no control characters); anything else names nothing. */
export function plausibleId(id: string): boolean {
  return id.length > 0 && id.length <= 128 && /^[A-Za-z0-9_-]+$/.test(id);
}

/** The request's query string, parsed. */
export function queryOf(scope: RequestScope): URLSearchParams {
  const url = scope.req.url ?? '';
  const q = url.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
}
