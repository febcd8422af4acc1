import { timingSafeEqual } from 'node:crypto';
import { messagesCountOperation } from '../api/count-tokens/messages-count.js';
import { responsesCountOperation } from '../api/count-tokens/responses-count.js';
import { batchApiPaths } from '../batches/api-paths.js';
import { responsesReadPaths } from '../responses/api-paths.js';
import { GatewayError } from '../errors/gateway-error.js';
import { chatOperation, completionsOperation, embeddingsOperation, messagesOperation, responsesOperation, type Operation, type OperationRequest } from '../pipeline/operations.js';
import type { CountOperation } from '../pipeline/count-tokens.js';
import type { RequestScope } from './request-scope.js';
import { surfaces, type ApiSurface, type Route } from './routes.js';

/**
 * The gateway's route tables. The data plane serves the API and the probes; /metrics is served
 * there unless a separate operator listener is configured (`server.metrics.port`), which then
 * serves it alone. Admin, dashboard, files and responses routes are rows added here.
 */

export interface RouteOptions {
  /** Serve /metrics on this table. */
  readonly metrics: boolean;
  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  readonly metricsBearerToken?: string | undefined;
  /** The Batch API's rows (load-batch-api.ts) when the control plane is on; without, its paths answer 404 saying so. */
  readonly batchApi?: readonly Route[];
  /** Every /v1/responses row with stored responses (src/responses/load-responses-api.ts), loaded by listen(). */
  readonly responsesApi?: readonly Route[];
}

/** The data-plane listener's routes (`server.host`:`server.port`). */
export function dataPlaneRoutes(options: RouteOptions): Route[] {
  return [
    { method: 'POST', ...operation(chatOperation, surfaces.openai) },
    { method: 'POST', ...operation(completionsOperation, surfaces.openai) },
    { method: 'POST', ...operation(embeddingsOperation, surfaces.openai) },
    { method: 'POST', ...operation(messagesOperation, surfaces.anthropic) },
    { method: 'POST', ...countEndpoint(messagesCountOperation, surfaces.anthropic) },
    { method: 'GET', path: '/v1/models', surface: surfaces.models, handler: listModels },
    { method: 'GET', path: '/v1/models/{model}', surface: surfaces.models, handler: getModel },
    // With stored responses (always, once listening) the storing handler serves POST /v1/responses;
    // the stateless row is for a table built without them, where `previous_response_id` is refused.
    ...(options.responsesApi ?? statelessResponses()),
    ...(options.batchApi ?? batchApiPaths.map(([method, path]): Route => ({ method, path, surface: surfaces.openai, handler: batchApiOff }))),
    { method: 'GET', path: '/health', surface: surfaces.operator, quiet: true, handler: health },
    { method: 'GET', path: '/ready', surface: surfaces.operator, quiet: true, handler: ready },
    ...(options.metrics ? operatorRoutes(options) : []),
  ];
}

/** The operator listener's routes (`server.metrics`): /metrics now, the admin API later. */
export function operatorRoutes(options: Pick<RouteOptions, 'metricsBearerToken'>): Route[] {
  const token = options.metricsBearerToken === undefined ? undefined : Buffer.from(`Bearer ${options.metricsBearerToken}`);
  return [{ method: 'GET', path: '/metrics', surface: surfaces.operator, quiet: true, handler: (scope) => metrics(scope, token) }];
}

function operation(op: Operation<OperationRequest, unknown, unknown>, surface: ApiSurface): Omit<Route, 'method'> {
  return { path: op.route, surface, body: 'json', recordsItself: true, operation: op.name, handler: (scope) => scope.runOperation(op) };
}

/** /v1/responses in a table built without a response store: nothing is stored, so every id names nothing. */
function statelessResponses(): Route[] {
  return [
    { method: 'POST', ...operation(responsesOperation(), surfaces.responses) },
    { method: 'POST', ...countEndpoint(responsesCountOperation, surfaces.responses) },
    ...responsesReadPaths.map(([method, path]): Route => ({ method, path, surface: surfaces.responses, handler: noStoredResponses })),
  ];
}

function noStoredResponses(): never {
  throw new GatewayError('resource_not_found', 'No stored response with this id: this route table keeps no responses.', { param: 'response_id' });
}

/** A token-counting endpoint: like an operation, it records its own outcome (pipeline/count-tokens.ts). */
function countEndpoint<Req extends { readonly model: string }>(op: CountOperation<Req>, surface: ApiSurface): Omit<Route, 'method'> {
  return { path: op.route, surface, body: 'json', recordsItself: true, handler: (scope) => scope.runCount(op) };
}

function batchApiOff(): never {
  throw new GatewayError('not_found', 'The Batch API (/v1/files, /v1/batches) needs the control plane: configure state.database or admin (docs/batches.md).');
}

function health(scope: RequestScope): void {
  scope.json(200, { status: 'ok' }, {});
}

function ready(scope: RequestScope): void {
  const status = scope.deps.readiness();
  scope.json(status === 'ready' ? 200 : 503, { status }, {});
}

async function metrics(scope: RequestScope, token: Buffer | undefined): Promise<void> {
  if (token !== undefined && !sameSecret(scope.req.headers.authorization, token)) {
    throw new GatewayError('invalid_api_key', 'This endpoint needs "Authorization: Bearer <metrics token>".');
  }
  const { contentType } = scope.deps.metrics;
  scope.text(200, contentType, await scope.deps.metrics.text());
}

async function listModels(scope: RequestScope): Promise<void> {
  const { auth, router } = scope.runtime;
  const principal = await auth.authenticate(scope.authorization, true);
  const created = scope.deps.startedAtSeconds;
  const data = router.models.filter((m) => principal.mayUse(m.alias)).map((m) => ({ id: m.alias, object: 'model', created, owned_by: m.ownedBy }));
  scope.json(200, { object: 'list', data }, {});
}

async function getModel(scope: RequestScope): Promise<void> {
  const { auth, router } = scope.runtime;
  const principal = await auth.authenticate(scope.authorization, true);
  const model = router.find(scope.params[0] as string);
  router.authorize(model, principal);
  scope.json(200, { id: model.alias, object: 'model', created: scope.deps.startedAtSeconds, owned_by: model.ownedBy }, {});
}

/** Constant-time comparison of a presented Authorization value with the expected one. */
function sameSecret(presented: string | undefined, expected: Buffer): boolean {
  if (presented === undefined) return false;
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
