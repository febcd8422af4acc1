import { scrubSecrets } from '../../errors/scrub.js';
import { errorTypeForStatus } from '../chunks.js';
import type { HeaderReader, UpstreamErrorInfo } from '../types.js';
import { isRecord as isObject } from '../translate-helpers.js';

/**
 * Bedrock errors (protocols.md §5.3): a JSON body `{"message": …}` and the error type in the
 * `x-amzn-errortype` header, e.g. `ValidationException:http://internal.amazon.com/coral/…`. Some
 * AWS front ends put the type in the body as `__type` instead, and spell `Message` capitalised.
 * The type becomes the OpenAI `code`; the status decides the OpenAI `type` (and how the gateway
 * retries): ValidationException 400, AccessDeniedException 403, ResourceNotFoundException 404,
 * ModelTimeoutException 408, ModelErrorException 424, ThrottlingException 429,
 * InternalServerException 500, ServiceUnavailableException 503.
 */
export function bedrockErrorInfo(status: number, body: unknown, header?: HeaderReader): UpstreamErrorInfo {
  const obj = isObject(body) ? body : undefined;
  const rawMessage =
    typeof obj?.message === 'string'
      ? obj.message
      : typeof obj?.Message === 'string'
        ? obj.Message
        : typeof body === 'string' && body.length > 0
          ? body
          : `upstream answered ${status}`;
  const code = errorTypeName(header?.('x-amzn-errortype')) ?? errorTypeName(typeof obj?.__type === 'string' ? obj.__type : undefined) ?? null;
  return { message: scrubSecrets(rawMessage), type: errorTypeForStatus(status), code, param: null };
}

/**
 * How the gateway treats each exception Bedrock may send inside a ConverseStream body. These are
 * the statuses of the same exceptions as plain responses, except `modelStreamErrorException`
 * (424 on the wire): the model failed while generating, which another attempt may fix, so it is
 * treated as a 500 rather than as the client's error.
 */
const streamExceptionStatus: Readonly<Record<string, number>> = {
  internalServerException: 500,
  modelStreamErrorException: 500,
  validationException: 400,
  throttlingException: 429,
  serviceUnavailableException: 503,
  modelTimeoutException: 408,
};

/** An in-stream exception (`exception:<type>` from the event-stream decoder) as error info. */
export function bedrockStreamError(exceptionType: string, payload: string): UpstreamErrorInfo {
  let body: unknown = payload;
  try {
    body = JSON.parse(payload);
  } catch {
    // Not JSON: the raw text is the message.
  }
  const status = streamExceptionStatus[exceptionType] ?? 500;
  const info = bedrockErrorInfo(status, body);
  const code = exceptionType.charAt(0).toUpperCase() + exceptionType.slice(1);
  return { ...info, code, status };
}

/** `ValidationException:http://…` → `ValidationException`; `com.amazon#X` → `X`; only plain identifiers. */
function errorTypeName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const name = (raw.split(':', 1)[0] ?? '').split('#').at(-1)?.trim() ?? '';
  return /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name) ? name : undefined;
}

// The providers' one plain-object check, under the name this provider's code reads.
export { isObject };
