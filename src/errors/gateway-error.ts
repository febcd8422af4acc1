import { errorCatalog, type ErrorCode, type OpenAiErrorType } from './catalog.js';

export interface GatewayErrorOptions {
  /** The request field the error is about, as OpenAI's `param`. */
  param?: string | null;
  /** Overrides the catalog status (used only for upstream 4xx that keep their status). */
  status?: number;
  /** Overrides the catalog type (used only when passing on an upstream error type). */
  type?: OpenAiErrorType;
  /** Milliseconds the client should wait; becomes `Retry-After` and `retry-after-ms`. */
  retryAfterMs?: number;
  /** Extra response headers (already safe to send, e.g. `x-ratelimit-*`). */
  headers?: Record<string, string>;
  /**
   * The `code` shown in the body when it should differ from the catalog code: an upstream's own
   * code (e.g. `context_length_exceeded`) that clients act on. Must be a plain identifier.
   */
  publicCode?: string;
  cause?: unknown;
}

/**
 * An error meant for the client: a catalog code plus a message that is safe to show (no keys, no
 * internal URLs). Anything thrown that is not a GatewayError becomes `internal_error`.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: OpenAiErrorType;
  readonly param: string | null;
  readonly retryAfterMs: number | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly publicCode: string;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const entry = errorCatalog[code];
    this.name = 'GatewayError';
    this.code = code;
    this.status = options.status ?? entry.status;
    this.type = options.type ?? entry.type;
    this.param = options.param ?? null;
    this.retryAfterMs = options.retryAfterMs;
    this.headers = options.headers;
    this.publicCode = options.publicCode !== undefined && /^[A-Za-z0-9_.-]{1,64}$/.test(options.publicCode) ? options.publicCode : code;
  }

  get shouldRetry(): boolean {
    return errorCatalog[this.code].shouldRetry;
  }

  /** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
  toBody(): { error: { message: string; type: string; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.publicCode } };
  }
}

/** Turns anything thrown into a GatewayError; unknown errors become a generic internal_error. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('internal_error', 'The gateway failed to handle this request.', { cause: err });
}
