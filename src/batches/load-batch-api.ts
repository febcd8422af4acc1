/**
 * Loads the Batch API (`/v1/files`, `/v1/batches`) for a gateway with a control plane: its route
 * rows for the data plane and the hourly cleanup of expired files. Imported dynamically by the
 * composition root, so a gateway without a control plane never loads it (nor busboy).
 */
import type { RequestScope } from '../http/request-scope.js';
import { surfaces, type Route } from '../http/routes.js';
import type { BatchApiDeps } from './api-context.js';
import { batchApiPaths } from './api-paths.js';
import { cancelBatch, createBatch, listBatches, retrieveBatch } from './batch-routes.js';
import { FileCleanup } from './file-cleanup.js';
import { deleteFile, fileContent, listFiles, retrieveFile, uploadFile } from './file-routes.js';
import { UPLOAD_MEMORY_FILES, UploadMemory } from './upload.js';

/** A create body is a few ids and metadata: far below the data plane's body limit. */
const CREATE_BODY_LIMIT_BYTES = 64 * 1024;

type Handler = (deps: BatchApiDeps, scope: RequestScope) => Promise<void>;

const handlers: Record<string, { readonly handler: Handler; readonly body?: 'json' | 'raw' }> = {
  'POST /v1/files': { handler: uploadFile, body: 'raw' },
  'GET /v1/files': { handler: listFiles },
  'GET /v1/files/{file_id}': { handler: retrieveFile },
  'DELETE /v1/files/{file_id}': { handler: deleteFile },
  'GET /v1/files/{file_id}/content': { handler: fileContent },
  'POST /v1/batches': { handler: createBatch, body: 'json' },
  'GET /v1/batches': { handler: listBatches },
  'GET /v1/batches/{batch_id}': { handler: retrieveBatch },
  'POST /v1/batches/{batch_id}/cancel': { handler: cancelBatch },
};

export async function loadBatchApi(options: Omit<BatchApiDeps, 'uploadMemory'>): Promise<{ routes: Route[]; close(): Promise<void> }> {
  const deps: BatchApiDeps = { ...options, uploadMemory: new UploadMemory(UPLOAD_MEMORY_FILES * options.settings().batches.maxFileBytes) };
  const cleanup = new FileCleanup(deps);
  cleanup.start();
  const routes = batchApiPaths.map(([method, path]): Route => {
    const row = handlers[`${method} ${path}`];
    if (!row) throw new Error(`no handler for ${method} ${path}`);
    return {
      method,
      path,
      surface: surfaces.openai,
      ...(row.body ? { body: row.body } : {}),
      ...(row.body === 'json' ? { bodyLimitBytes: CREATE_BODY_LIMIT_BYTES } : {}),
      handler: (scope) => row.handler(deps, scope),
    };
  });
  return { routes, close: () => cleanup.close() };
}
