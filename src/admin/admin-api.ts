import { DrizzleQueryError } from 'drizzle-orm';
import { z } from 'zod';
import { formatPath } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';
import { IdentityError } from '../identity/identity-error.js';
import type { RequestScope } from '../http/request-scope.js';
import { surfaces, type Route } from '../http/routes.js';
import { authorize, mayEver, type Action, type Actor } from './access.js';
import { resolveActor } from './actor.js';
import { driverError, isStoreUnavailable } from '../control/store/errors.js';
import { auditRoutes } from './audit-routes.js';
import type { AdminCall, AdminContext, AdminRoute } from './context.js';
import { keyRoutes } from './keys.js';
import { liveRoutes } from './live-routes.js';
import { openApiDocument } from './openapi.js';
import { spendRoutes } from './spend-routes.js';
import { deadLetterRoutes } from './dead-letter-routes.js';
import { teamRoutes } from './teams.js';
import { userRoutes } from './users.js';

/** Every admin route, in the order the OpenAPI document lists them. */
export const adminRouteTable: readonly AdminRoute[] = [...teamRoutes, ...keyRoutes, ...userRoutes, ...auditRoutes, ...spendRoutes, ...deadLetterRoutes, ...liveRoutes];

/** Admin request bodies are small: 64 KiB is far more than any of them needs. */
const ADMIN_BODY_LIMIT = 64 * 1024;
const UNAVAILABLE_RETRY_MS = 5_000;

/** The admin API's rows for an edge route table (the data-plane listener's, or `admin.port`'s own). */
export function adminRoutes(ctx: AdminContext): Route[] {
  const document = openApiDocument(adminRouteTable);
  return [
    { method: 'GET', path: '/admin/v1/openapi.json', surface: surfaces.admin, handler: (scope) => scope.json(200, document, {}) },
    ...adminRouteTable.map(
      (r): Route => ({
        method: r.method,
        path: `/admin/v1${r.path}`,
        surface: surfaces.admin,
        ...(r.body ? { body: 'json' as const, bodyLimitBytes: ADMIN_BODY_LIMIT } : {}),
        handler: (scope) => runAdminCall(ctx, r, scope),
      }),
    ),
  ];
}

/**
 * One admin call, top to bottom: the store must be open; the caller is identified (a refusal is
 * audited); a caller who holds the route's permission nowhere is refused (audited); the body is
 * validated whole (every invalid field named); the handler checks the permission on the team
 * concerned and runs its change in one transaction; after a change this replica reloads its
 * snapshot before answering, so the caller can use a new key at once.
 */
async function runAdminCall(ctx: AdminContext, route: AdminRoute, scope: RequestScope): Promise<void> {
  const db = ctx.control.store?.db;
  const sync = ctx.control.sync;
  if (!db || !sync) throw unavailable();
  const source = scope.req.socket.remoteAddress;
  const where = `${route.method} /admin/v1${route.path}`;
  let actor: Actor;
  try {
    actor = await resolveActor(scope.req.headers.authorization, ctx.actors);
  } catch (err) {
    if (err instanceof GatewayError) {
      // A refused token's reason is one fixed word (expired, audience, signature…): it tells a
      // misconfigured client from a forgery, and holds nothing of the token.
      const reason = err.cause instanceof IdentityError ? { reason: err.cause.reason } : {};
      ctx.security.record({ actor: { id: 'anonymous', type: 'anonymous' }, action: 'auth.refused', source, requestId: scope.requestId, after: { code: err.code, ...reason, route: where } });
    }
    throw err;
  }
  const auditBase = { actor: actor.audit, source, requestId: scope.requestId };
  if (actor.audit.type === 'bootstrap') ctx.security.record({ ...auditBase, action: 'bootstrap.used', after: { route: where } });
  const require = (action: Action, team?: string): void => {
    if (authorize(actor, action, { team })) return;
    ctx.security.record({ ...auditBase, action: 'access.denied', after: { permission: action, team: team ?? null, route: where } });
    throw new GatewayError('permission_denied', `Your role does not allow ${action}${team === undefined ? '' : ` on team '${team}'`}.`);
  };
  // A caller who may not do this on any team is refused before the body, the ids or the team
  // named are looked at: a 400 or 404 would tell them what exists and what is valid.
  if (route.action !== 'any' && !mayEver(actor, route.action)) require(route.action);
  const body = route.body ? validate(route.body, scope.body ?? {}) : undefined;
  const query = new URL(scope.req.url ?? '/', 'http://admin').searchParams;
  refuseControlCharacters(scope.params, query);
  const call: AdminCall = {
    actor,
    body,
    params: scope.params,
    query,
    accept: scope.req.headers.accept,
    db,
    ctx,
    config: scope.runtime.config,
    now: new Date(ctx.clock.wallMs()),
    auditBase,
    require,
    stillAllowed: async (action) => {
      try {
        return authorize(await resolveActor(scope.req.headers.authorization, ctx.actors), action);
      } catch {
        return false;
      }
    },
    audit: (event) => ({ ...event, ...auditBase }),
  };
  let reply;
  try {
    reply = await route.handle(call as AdminCall<never>);
  } catch (err) {
    throw storeFailure(err);
  }
  if (route.method !== 'GET') await sync.refresh();
  if (reply.stream) {
    // The stream's request is recorded when it opens (access log, metrics); it runs for minutes.
    reply.stream(scope);
    scope.recordOutcome(reply.status, 'success', undefined);
  } else if (reply.contentType) scope.text(reply.status, reply.contentType, reply.body as string, reply.headers ?? {});
  else await scope.json(reply.status, reply.body, reply.headers ?? {});
}

/**
 * Ids, names and filters never contain control characters, and PostgreSQL refuses U+0000 in text
 * (which would be a 500): a path segment or query value with one is a 400 naming it.
 */
function refuseControlCharacters(params: readonly string[], query: URLSearchParams): void {
  const bad = /[\u0000-\u001f\u007f]/;
  if (params.some((p) => bad.test(p))) throw new GatewayError('invalid_request', 'The path holds a control character; no team, key or user id does.');
  for (const [name, value] of query) {
    if (bad.test(value) || bad.test(name)) throw new GatewayError('invalid_request', `${name.replace(bad, '?')}: must not contain control characters.`, { param: name.replace(bad, '?') });
  }
}

/** Fields a 400 names one by one; a body with more (thousands of bad metadata entries) gets a count of the rest. */
const MAX_NAMED_ISSUES = 20;

/** Parses a body; a failure lists every invalid field by path (`limits.requests.capacity: …`). */
function validate(schema: z.ZodType, value: unknown): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys.map((k) => ({ path: formatPath([...i.path, k]), message: 'unknown field' })) : [{ path: formatPath(i.path), message: i.message }]));
  const first = issues[0]?.path;
  const named = issues.slice(0, MAX_NAMED_ISSUES).map((i) => `${i.path || '(body)'}: ${i.message}`);
  if (issues.length > MAX_NAMED_ISSUES) named.push(`and ${issues.length - MAX_NAMED_ISSUES} more`);
  throw new GatewayError('invalid_request', `Invalid request body: ${named.join('; ')}.`, first ? { param: first } : {});
}

function unavailable(): GatewayError {
  return new GatewayError('control_plane_unavailable', 'The control-plane database cannot be reached; the data plane keeps serving with the keys it last loaded. Retry later.', { retryAfterMs: UNAVAILABLE_RETRY_MS });
}

/**
 * A database that cannot be reached (refused, reset, timed out, shutting down) is a 503 the client
 * can retry; anything else from the database is a bug, answered as a 500 and logged whole.
 */
export function storeFailure(err: unknown): unknown {
  if (err instanceof GatewayError) return err;
  // drizzle wraps the driver's error in one whose message quotes the query's parameters (a new
  // key's digest among them): judge by the driver's error, and never log the parameters.
  const wrapped = err instanceof DrizzleQueryError;
  if (isStoreUnavailable(err)) return unavailable();
  const { code, message } = driverError(err);
  if (!wrapped) return err;
  return Object.assign(new Error(`${message || 'query failed'} (query: ${err.query})`), code ? { code } : {});
}
