import type { HttpMethod } from '../http/routes.js';

/**
 * The stored-responses routes besides the create (method and path), shared by the loaded API
 * (load-responses-api.ts) and the rows of a route table built without a store (gateway-routes.ts),
 * where nothing is stored and every id is a 404.
 */
export const responsesReadPaths: ReadonlyArray<readonly [HttpMethod, string]> = [
  ['GET', '/v1/responses/{response_id}'],
  ['DELETE', '/v1/responses/{response_id}'],
  ['GET', '/v1/responses/{response_id}/input_items'],
];
