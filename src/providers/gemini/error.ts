import { scrubSecrets } from '../../errors/scrub.js';
import { boundedWaitMs } from '../../resilience/retry-after.js';
import { errorTypeForStatus } from '../chunks.js';
import { isRecord } from '../translate-helpers.js';
import type { UpstreamErrorInfo } from '../types.js';

/**
 * Google RPC errors (`{"error":{"code","message","status","details"}}`) as our error info. The
 * code shown to clients is the RPC status in lower case (`invalid_argument`); a RetryInfo
 * detail's `retryDelay` (a protobuf Duration such as "34.4s") becomes `retryAfterMs`, because
 * Gemini sends its retry advice in the body, not in a header.
 */
export function geminiErrorInfo(status: number, body: unknown): UpstreamErrorInfo {
  const inner = isRecord(body) && isRecord(body['error']) ? body['error'] : undefined;
  const raw =
    inner && typeof inner['message'] === 'string' && inner['message'] !== ''
      ? inner['message']
      : typeof body === 'string' && body !== ''
        ? body
        : `upstream answered ${status}`;
  const rpcStatus = inner && typeof inner['status'] === 'string' && /^[A-Z_]{1,64}$/.test(inner['status']) ? inner['status'].toLowerCase() : null;
  const retryAfterMs = inner ? retryDelayMs(inner['details']) : undefined;
  const info: UpstreamErrorInfo = { message: scrubSecrets(raw), type: errorTypeForStatus(status), code: rpcStatus, param: null };
  return {
    ...info,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(inner && keyRejected(inner['details']) ? { credentialsRejected: true } : {}),
  };
}

/** Gemini answers a bad or expired API key with 400 and an ErrorInfo reason, not with 401. */
function keyRejected(details: unknown): boolean {
  return (
    Array.isArray(details) &&
    details.some((d) => isRecord(d) && d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo' && (d['reason'] === 'API_KEY_INVALID' || d['reason'] === 'API_KEY_EXPIRED'))
  );
}

/** The RetryInfo delay among an RPC error's details, in ms. */
export function retryDelayMs(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const d of details) {
    if (!isRecord(d) || d['@type'] !== 'type.googleapis.com/google.rpc.RetryInfo') continue;
    // Bounded like every provider wait: "99999999s" is read as an hour, not three years.
    const ms = boundedWaitMs(durationMs(d['retryDelay']));
    if (ms !== undefined) return ms;
  }
  return undefined;
}

/** A protobuf Duration in JSON ("34.4s", "1s", "0.250s") in ms; undefined when malformed. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const match = /^(\d{1,12})(?:\.(\d{1,9}))?s$/.exec(value);
    if (match === null) return undefined;
    return Math.round(Number(`${match[1]}.${match[2] ?? '0'}`) * 1000);
  }
  // The object form {seconds, nanos} some client libraries log.
  if (isRecord(value) && (typeof value['seconds'] === 'string' || typeof value['seconds'] === 'number')) {
    const seconds = Number(value['seconds']);
    const nanos = typeof value['nanos'] === 'number' && value['nanos'] >= 0 && value['nanos'] < 1e9 ? value['nanos'] : 0;
    return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000 + nanos / 1e6) : undefined;
  }
  return undefined;
}
