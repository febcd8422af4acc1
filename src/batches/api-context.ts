/** What every Batch API route shares: the store, the engine, the settings now serving, the caller. */
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { BatchesConfig } from '../config/schema.js';
import { driverError, isStoreUnavailable } from '../control/store/errors.js';
import type { ControlDb } from '../control/store/store.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestScope } from '../http/request-scope.js';
import type { BatchEngine } from './engine.js';
import type { UploadMemory } from './upload.js';

export interface BatchApiDeps {
  /** The control plane's database once open; undefined before (the routes answer 503). */
  readonly db: () => ControlDb | undefined;
  readonly engine: BatchEngine;
  /** `batches.*` and `server.bodyLimitBytes` (read at start: a change needs a restart). */
  readonly settings: () => { readonly batches: BatchesConfig; readonly bodyLimitBytes: number };
  readonly clock: Clock;
  readonly logger: Logger;
  /** Bytes of uploads in progress on this replica, bounded. */
  readonly uploadMemory: UploadMemory;
}

/** The caller of a Batch API request: the same authentication as the data plane's, scoped to the team. */
export interface Caller {
  readonly principal: Principal;
  readonly team: string;
  /** Who made a file: the key id, else the signed-in person's subject. */
  readonly createdBy: string;
}

const UNAVAILABLE_RETRY_MS = 5_000;

export async function callerOf(scope: RequestScope): Promise<Caller> {
  const principal = await scope.runtime.auth.authenticate(scope.authorization);
  return { principal, team: principal.tenant, createdBy: principal.keyId ?? principal.user ?? 'unknown' };
}

export function dbOf(deps: BatchApiDeps): ControlDb {
  const db = deps.db();
  if (!db) throw unavailable();
  return db;
}

function unavailable(): GatewayError {
  return new GatewayError('control_plane_unavailable', "The Batch API's database (the control plane's) cannot be reached. Retry later.", { retryAfterMs: UNAVAILABLE_RETRY_MS });
}

/**
 * A database that cannot be reached is a 503 to retry; anything else from it is a bug (a 500,
 * logged by the edge without the query's parameters).
 */
export function storeError(err: unknown): unknown {
  if (err instanceof GatewayError) return err;
  if (isStoreUnavailable(err)) return unavailable();
  const { code, message } = driverError(err);
  return Object.assign(new Error(message || 'query failed'), code ? { code } : {});
}

/** Runs a route's work, turning store failures into the answers above. */
export async function withStore<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw storeError(err);
  }
}

/** Ids in paths and queries: what ours look like (bounded, no control characters); anything else names nothing. */
export function plausibleId(id: string): boolean {
  return id.length > 0 && id.length <= 128 && /^[A-Za-z0-9_-]+$/.test(id);
}

export function notFound(kind: 'file' | 'batch', id: string): GatewayError {
  const shown = plausibleId(id) ? id : '(invalid id)';
  return new GatewayError('resource_not_found', `No ${kind} with id '${shown}'.`, { param: kind === 'file' ? 'file_id' : 'batch_id' });
}

/** `limit` of a list: an integer from 1 to `max`, `fallback` when absent. */
export function limitOf(query: URLSearchParams, fallback: number, max: number): number {
  const raw = query.get('limit');
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new GatewayError('invalid_request', `limit must be an integer from 1 to ${max}.`, { param: 'limit' });
  return n;
}

export function queryOf(scope: RequestScope): URLSearchParams {
  const url = scope.req.url ?? '';
  const q = url.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
}
