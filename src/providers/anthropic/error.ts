import type { OpenAiErrorType } from '../../errors/catalog.js';
import { scrubSecrets } from '../../errors/scrub.js';
import { errorTypeForStatus } from '../chunks.js';
import type { UpstreamErrorInfo } from '../types.js';
import { isObject } from './wire.js';

/** Anthropic error `type` → OpenAI error `type` (protocols.md §2.5, §2.7). */
const openAiTypes: Record<string, OpenAiErrorType> = {
  invalid_request_error: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  authentication_error: 'authentication_error',
  permission_error: 'permission_error',
  billing_error: 'permission_error',
  not_found_error: 'not_found_error',
  rate_limit_error: 'rate_limit_error',
  timeout_error: 'timeout_error',
  api_error: 'server_error',
  overloaded_error: 'server_error',
};

/**
 * Normalises `{"type":"error","error":{"type","message"}}` (HTTP errors and the in-stream
 * `error` event alike), and the plain-text pages proxies send, into our error info.
 */
export function anthropicErrorInfo(status: number, body: unknown): UpstreamErrorInfo {
  const inner = isObject(body) && isObject(body.error) ? body.error : undefined;
  const raw = inner && typeof inner.message === 'string' ? inner.message : typeof body === 'string' && body !== '' ? body : `upstream answered ${status}`;
  const kind = inner && typeof inner.type === 'string' ? inner.type : undefined;
  const type = (kind !== undefined ? openAiTypes[kind] : undefined) ?? errorTypeForStatus(status);
  // Anthropic's types are not OpenAI codes, so they are not passed on as `code`.
  return { message: scrubSecrets(raw), type, code: null, param: null };
}
