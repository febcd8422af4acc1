/**
 * Lines of a batch input file: split off a byte stream as it arrives (the upload, or the stored
 * file read back in pages), each checked on its own. One line is one request:
 * `{"custom_id": "…", "method": "POST", "url": "/v1/chat/completions", "body": {…}}`.
 */
import { GatewayError } from '../errors/gateway-error.js';
import { parseJsonBody } from '../http/json-body.js';

/** One problem with the input, in OpenAI's batch `errors.data` shape; `line` is 1-based. */
export interface LineError {
  readonly code: string;
  readonly message: string;
  readonly param: string | null;
  readonly line: number | null;
}

export interface InputLine {
  readonly customId: string;
  readonly method: string;
  readonly url: string;
  readonly body: Record<string, unknown>;
}

/** Longest custom_id: ids are keys of the output, not payloads. */
export const MAX_CUSTOM_ID_CHARS = 512;

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** `\uD800`–`\uDBFF` not followed by `\uDC00`–`\uDFFF`, or the latter not after the former. */
const loneSurrogateEscape = /\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;

/** A JavaScript string with an unpaired surrogate (PostgreSQL refuses it in text and jsonb). */
export function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/**
 * Splits bytes into lines (LF, with an optional CR before it), never holding more than one
 * unfinished line of at most `maxLineBytes`: a longer line is reported as soon as it is seen, not
 * buffered. `line` numbers are 0-based positions in the file; blank lines are skipped (they are
 * not requests) but still counted, so a number always names the file's own line.
 */
export class LineSplitter {
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #line = 0;
  #first = true;

  constructor(private readonly maxLineBytes: number) {}

  /** The lines `chunk` completes; throws LineTooLong when an unfinished line passes the limit. */
  push(chunk: Buffer, onLine: (text: string, line: number) => void): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      this.#emit(chunk.subarray(start, nl), onLine);
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.#partialBytes += chunk.length - start;
      if (this.#partialBytes > this.maxLineBytes) throw new LineTooLong(this.#line, this.maxLineBytes);
      this.#partial.push(chunk.subarray(start));
    }
  }

  /** The last line (a file need not end with a newline). */
  end(onLine: (text: string, line: number) => void): void {
    if (this.#partialBytes > 0) this.#emit(Buffer.alloc(0), onLine);
  }

  #emit(tail: Buffer, onLine: (text: string, line: number) => void): void {
    const bytes = this.#partialBytes + tail.length;
    if (bytes > this.maxLineBytes) throw new LineTooLong(this.#line, this.maxLineBytes);
    let raw = this.#partial.length === 0 ? tail : Buffer.concat([...this.#partial, tail], bytes);
    this.#partial = [];
    this.#partialBytes = 0;
    const line = this.#line++;
    if (raw.length > 0 && raw[raw.length - 1] === 0x0d) raw = raw.subarray(0, raw.length - 1);
    // A byte-order mark some editors put first.
    if (this.#first && raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) raw = raw.subarray(3);
    this.#first = false;
    let text: string;
    try {
      text = utf8.decode(raw);
    } catch {
      throw new BadLine({ code: 'invalid_json_line', message: `Line ${line + 1} is not valid UTF-8.`, param: null, line: line + 1 });
    }
    if (text.trim() === '') return;
    onLine(text, line);
  }
}

/** A line longer than the limit (found before it was buffered whole). */
export class LineTooLong extends Error {
  constructor(
    readonly line: number,
    readonly maxLineBytes: number,
  ) {
    super(`Line ${line + 1} is longer than ${maxLineBytes} bytes (server.bodyLimitBytes: a request of a batch is no larger than a live one).`);
  }

  get lineError(): LineError {
    return { code: 'line_too_long', message: this.message, param: null, line: this.line + 1 };
  }
}

/** A line that can never be a request. */
export class BadLine extends Error {
  constructor(readonly lineError: LineError) {
    super(lineError.message);
  }
}

/**
 * Checks one line's shape (what any batch needs): JSON, an object with a non-empty string
 * `custom_id`, string `method` and `url`, and an object `body`. Returns the request or the error.
 */
export function parseInputLine(text: string, line: number): InputLine | LineError {
  const at = line + 1;
  const fail = (code: string, message: string, param: string | null = null): LineError => ({ code, message: `Line ${at}: ${message}`, param, line: at });
  // PostgreSQL cannot store U+0000 or a lone surrogate in jsonb: such a line could never be run.
  // (The text itself is valid UTF-8, so only escapes can carry them.)
  if (text.includes('\\u0000')) return fail('invalid_json_line', 'the line holds \\u0000, which cannot be stored.');
  if (loneSurrogateEscape.test(text)) return fail('invalid_json_line', 'the line holds an unpaired surrogate escape (\\ud800-\\udfff), which cannot be stored.');
  let value: unknown;
  try {
    // The edge's own parser: the same bounds on depth and width, and no __proto__, as a live body.
    value = parseJsonBody(text);
  } catch (err) {
    return fail('invalid_json_line', `this line is not valid JSON${err instanceof GatewayError ? ` (${err.message.replace(/^The request body /, 'it ')})` : ''}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('invalid_json_line', 'each line must be a JSON object.');
  const o = value as Record<string, unknown>;
  const customId = o.custom_id;
  if (typeof customId !== 'string' || customId === '') return fail('missing_required_parameter', 'custom_id must be a non-empty string.', 'custom_id');
  if (customId.length > MAX_CUSTOM_ID_CHARS) return fail('invalid_request', `custom_id must be at most ${MAX_CUSTOM_ID_CHARS} characters.`, 'custom_id');
  if (typeof o.method !== 'string') return fail('missing_required_parameter', 'method must be a string ("POST").', 'method');
  if (typeof o.url !== 'string') return fail('missing_required_parameter', 'url must be a string (the batch\'s endpoint).', 'url');
  const body = o.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail('missing_required_parameter', 'body must be a JSON object (the request body).', 'body');
  return { customId, method: o.method, url: o.url, body: body as Record<string, unknown> };
}

export function isLineError(v: InputLine | LineError): v is LineError {
  return 'code' in v;
}

/**
 * What a line needs to run in a batch with this endpoint: POST to that endpoint, a `model`, and
 * no streaming (a batch item's answer is one JSON body). Null when it may run.
 */
export function checkForEndpoint(input: InputLine, line: number, endpoint: string): LineError | null {
  const at = line + 1;
  const fail = (code: string, message: string, param: string): LineError => ({ code, message: `Line ${at}: ${message}`, param, line: at });
  if (input.method !== 'POST') return fail('invalid_method', `method must be "POST", not ${JSON.stringify(input.method.slice(0, 16))}.`, 'method');
  if (input.url !== endpoint) return fail('mismatched_endpoint', `url ${JSON.stringify(input.url.slice(0, 64))} is not the batch's endpoint ${endpoint}.`, 'url');
  if (typeof input.body.model !== 'string' || input.body.model === '') return fail('missing_required_parameter', 'body.model must be a non-empty string.', 'body.model');
  if (input.body.stream === true) return fail('invalid_request', 'body.stream must not be true: a batch item answers with one JSON body.', 'body.stream');
  return null;
}
