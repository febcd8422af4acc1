/** What every Batch API route shares: the store, the engine, the settings now serving (the caller and the rest are in http/team-routes.ts). */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { BatchesConfig } from '../config/schema.js';
import type { ControlDb } from '../control/store/store.js';
import { GatewayError } from '../errors/gateway-error.js';
import { plausibleId, storeErrors, unavailableRetryMs } from '../http/team-routes.js';
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

export function dbOf(deps: BatchApiDeps): ControlDb {
  const db = deps.db();
  if (!db) throw unavailable();
  return db;
}

function unavailable(): GatewayError {
  return new GatewayError('control_plane_unavailable', "The Batch API's database (the control plane's) cannot be reached. Retry later.", { retryAfterMs: unavailableRetryMs });
}

/** The Batch API's answers to its store's failures (an unreachable database is a 503 to retry). */
export const { withStore } = storeErrors(unavailable);

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
