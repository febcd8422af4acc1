import { scrubSecrets } from '../../errors/scrub.js';
import { errorTypeForStatus } from '../chunks.js';
import { isRecord } from '../translate-helpers.js';
import type { UpstreamErrorInfo } from '../types.js';

/** Triton answers errors as `{"error": "…"}` or plain text; the message is scrubbed. */
export function tritonErrorInfo(status: number, body: unknown): UpstreamErrorInfo {
  const raw = isRecord(body) && typeof body.error === 'string' ? body.error : typeof body === 'string' && body ? body : `upstream answered ${status}`;
  return { message: scrubSecrets(raw), type: errorTypeForStatus(status), code: null, param: null };
}
