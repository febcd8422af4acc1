/**
 * `GET` and `DELETE /v1/responses/{id}` and `GET /v1/responses/{id}/input_items`: the caller's
 * team's stored responses. Another team's id is a 404, like one that never was.
 */
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestScope } from '../http/request-scope.js';
import { callerOf, plausibleId, queryOf } from '../http/team-routes.js';
import { responseNotFound, withStore, type ResponsesApiDeps } from './api-context.js';
import { inputItemsQuery, pageInputItems } from './input-items-page.js';

function idOf(deps: ResponsesApiDeps, scope: RequestScope): string {
  const id = scope.params[0] as string;
  if (!plausibleId(id)) throw responseNotFound(deps, id);
  return id;
}

export async function retrieveResponse(deps: ResponsesApiDeps, scope: RequestScope): Promise<void> {
  const { team } = await callerOf(scope);
  // OpenAI can replay a stored response as its event stream; a JSON body would be misread as one.
  if (queryOf(scope).get('stream') === 'true') {
    throw new GatewayError('unsupported_parameter', 'A stored response cannot be replayed as a stream by this gateway: retrieve it without stream=true.', { param: 'stream' });
  }
  const id = idOf(deps, scope);
  const response = await withStore(() => deps.store.get(team, id));
  if (!response) throw responseNotFound(deps, id);
  await scope.json(200, response, {});
}

export async function deleteResponse(deps: ResponsesApiDeps, scope: RequestScope): Promise<void> {
  const { team } = await callerOf(scope);
  const id = idOf(deps, scope);
  if (!(await withStore(() => deps.store.delete(team, id)))) throw responseNotFound(deps, id);
  await scope.json(200, { id, object: 'response', deleted: true }, {});
}

export async function listInputItems(deps: ResponsesApiDeps, scope: RequestScope): Promise<void> {
  const { team } = await callerOf(scope);
  // The query is checked before the store is asked: a bad one is a 400 whatever the id.
  const query = inputItemsQuery(queryOf(scope));
  const id = idOf(deps, scope);
  const items = await withStore(() => deps.store.inputItems(team, id));
  if (!items) throw responseNotFound(deps, id);
  await scope.json(200, pageInputItems(id, items, query), {});
}
