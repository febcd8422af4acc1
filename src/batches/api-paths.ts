import type { HttpMethod } from '../http/routes.js';

/**
 * The Batch API's routes (method and path), shared by the loaded API (load-batch-api.ts) and the
 * rows the data plane serves without a control plane, which answer 404 saying what is missing.
 */
export const batchApiPaths: ReadonlyArray<readonly [HttpMethod, string]> = [
  ['POST', '/v1/files'],
  ['GET', '/v1/files'],
  ['GET', '/v1/files/{file_id}'],
  ['DELETE', '/v1/files/{file_id}'],
  ['GET', '/v1/files/{file_id}/content'],
  ['POST', '/v1/batches'],
  ['GET', '/v1/batches'],
  ['GET', '/v1/batches/{batch_id}'],
  ['POST', '/v1/batches/{batch_id}/cancel'],
];
