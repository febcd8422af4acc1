import { scrubSecrets } from '../../errors/scrub.js';
import { errorTypeForStatus } from '../chunks.js';
import type { UpstreamErrorInfo } from '../types.js';
import { isRecord as isObject } from '../translate-helpers.js';

/**
 * Normalises OpenAI's `{"error":{...}}`, vLLM's integer `code`, the older flat
 * `{"object":"error","message"}` and bare strings into our error info (message scrubbed).
 */
export function openAiErrorInfo(status: number, body: unknown): UpstreamErrorInfo {
  const inner = isObject(body) && isObject(body.error) ? body.error : isObject(body) ? body : undefined;
  const rawMessage =
    inner && typeof inner.message === 'string'
      ? inner.message
      : typeof body === 'string' && body.length > 0
        ? body
        : isObject(body) && typeof body.error === 'string'
          ? body.error
          : `upstream answered ${status}`;
  const code = inner && (typeof inner.code === 'string' || typeof inner.code === 'number') ? String(inner.code) : null;
  const param = inner && typeof inner.param === 'string' ? inner.param : null;
  return { message: scrubSecrets(rawMessage), type: errorTypeForStatus(status), code, param };
}

// The providers' one plain-object check, under the name this provider's code reads.
export { isObject };
