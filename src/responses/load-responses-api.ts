/**
 * Loads the stored-responses routes of `/v1/responses` with their store: the control plane's
 * database when it is on, else a bounded map in this process. Imported dynamically by the
 * composition root, so a gateway that never listens (check-config) loads none of it.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { ResponsesConfig } from '../config/schema.js';
import type { ControlDb } from '../control/store/store.js';
import type { RequestScope } from '../http/request-scope.js';
import { surfaces, type Route } from '../http/routes.js';
import type { ResponsesApiDeps } from './api-context.js';
import { responsesReadPaths } from './api-paths.js';
import { MemoryResponseStore } from './memory-store.js';
import { ResponsesPurge } from './purge.js';
import { countInputTokens, createResponse } from './create-response.js';
import { deleteResponse, listInputItems, retrieveResponse } from './read-routes.js';
import type { ResponseStore } from './response-store.js';
import { SaveBreaker } from './save-breaker.js';

export interface ResponsesApiOptions {
  /** The control plane's database getter when the control plane is on; absent: the in-memory store. */
  readonly db?: () => ControlDb | undefined;
  readonly settings: { readonly responses: ResponsesConfig; readonly bodyLimitBytes: number };
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: ResponsesApiDeps['metrics'];
  /** Wraps the configured store (tests: a slow or failing one). */
  readonly wrapStore?: (store: ResponseStore) => ResponseStore;
}

type Handler = (deps: ResponsesApiDeps, scope: RequestScope) => Promise<void>;

const handlers: Record<string, Handler> = {
  'GET /v1/responses/{response_id}': retrieveResponse,
  'DELETE /v1/responses/{response_id}': deleteResponse,
  'GET /v1/responses/{response_id}/input_items': listInputItems,
};

export async function responseStoreFor(options: ResponsesApiOptions): Promise<ResponseStore> {
  const { responses } = options.settings;
  const wallMs = (): number => options.clock.wallMs();
  if (options.db) {
    // Imported here: the SQL store brings drizzle (≈100 modules), which a gateway without a
    // control plane never needs (bench/micro/startup-memory.mjs).
    const { SqlResponseStore } = await import('./sql-store.js');
    return new SqlResponseStore({ db: options.db, retentionDays: responses.retentionDays, wallMs });
  }
  return new MemoryResponseStore({ retentionDays: responses.retentionDays, maxResponses: responses.memoryMaxResponses, maxBytes: responses.memoryMaxBytes, wallMs });
}

export async function loadResponsesApi(options: ResponsesApiOptions): Promise<{ routes: Route[]; deps: ResponsesApiDeps; close(): Promise<void> }> {
  const configured = await responseStoreFor(options);
  const store = options.wrapStore ? options.wrapStore(configured) : configured;
  // After a failed save, skip saves for as long as one may take (at least a second), then probe.
  const saveBreaker = new SaveBreaker(options.clock, Math.max(1_000, options.settings.responses.saveTimeoutMs));
  const deps: ResponsesApiDeps = { store, settings: options.settings, logger: options.logger, metrics: options.metrics, saveBreaker };
  const purge = new ResponsesPurge({ store, logger: options.logger });
  purge.start();
  const routes = responsesReadPaths.map(([method, path]): Route => {
    const handler = handlers[`${method} ${path}`];
    if (!handler) throw new Error(`no handler for ${method} ${path}`);
    return { method, path, surface: surfaces.responses, handler: (scope) => handler(deps, scope) };
  });
  // The create row is an operation's row: the edge parses its body, the pipeline records it.
  routes.unshift(
    { method: 'POST', path: '/v1/responses', surface: surfaces.responses, body: 'json', recordsItself: true, operation: 'chat', handler: (scope) => createResponse(deps, scope) },
    // A count records its own outcome too (pipeline/count-tokens.ts).
    { method: 'POST', path: '/v1/responses/input_tokens', surface: surfaces.responses, body: 'json', recordsItself: true, handler: (scope) => countInputTokens(deps, scope) },
  );
  return {
    routes,
    deps,
    close: async () => {
      await purge.close();
      await store.close();
    },
  };
}
