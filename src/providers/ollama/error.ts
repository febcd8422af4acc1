import { scrubSecrets } from '../../errors/scrub.js';
import { errorTypeForStatus } from '../chunks.js';
import { isRecord } from '../translate-helpers.js';
import type { UpstreamErrorInfo } from '../types.js';

/** Ollama errors are `{"error":"<message>"}` (also as the last NDJSON line of a failed stream). */
export function ollamaErrorInfo(status: number, body: unknown): UpstreamErrorInfo {
  const raw =
    isRecord(body) && typeof body['error'] === 'string' && body['error'] !== ''
      ? body['error']
      : typeof body === 'string' && body !== ''
        ? body
        : `upstream answered ${status}`;
  return { message: scrubSecrets(raw), type: errorTypeForStatus(status), code: null, param: null };
}
