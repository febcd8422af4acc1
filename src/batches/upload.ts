/**
 * Receiving a batch input file (`POST /v1/files`, multipart/form-data): the upload is read as it
 * arrives with busboy and split into lines on the way, so a file that breaks a rule is refused at
 * the byte that breaks it (too large, too many lines, a line too long, a line that is no request,
 * a repeated custom_id) without reading the rest. Only a file that passes is kept, whole, in
 * memory (at most `batches.maxFileBytes`) until it is stored.
 */
import busboy from 'busboy';
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors/gateway-error.js';
import { ClientGoneError } from '../resilience/abort-reasons.js';
import { BadLine, isLineError, LineSplitter, LineTooLong, parseInputLine } from './input-lines.js';

export interface UploadLimits {
  readonly maxFileBytes: number;
  readonly maxLines: number;
  readonly maxLineBytes: number;
  /** The bytes every upload in progress on this replica holds together (`UploadMemory`). */
  readonly memory: UploadMemory;
}

/** Uploads held in memory at once, in files of `batches.maxFileBytes`. */
export const UPLOAD_MEMORY_FILES = 4;
const BUSY_RETRY_MS = 1_000;

/**
 * The bytes of uploads being received, across this replica: each upload holds its file until it
 * is stored, so many at once could hold any amount. A chunk that does not fit refuses its upload
 * (`uploads_busy`, 503) instead of waiting: a waiting upload would still be sending.
 */
export class UploadMemory {
  #held = 0;

  constructor(readonly capBytes: number) {}

  get heldBytes(): number {
    return this.#held;
  }

  take(bytes: number): boolean {
    if (this.#held + bytes > this.capBytes) return false;
    this.#held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#held -= bytes;
  }
}

export interface Upload {
  readonly filename: string;
  /** The file; its bytes stay counted in `limits.memory` until `release()`. */
  readonly content: Buffer;
  release(): void;
  readonly lines: number;
  /** `expires_after[seconds]` when sent (anchor `created_at`). */
  readonly expiresAfterSeconds: number | undefined;
}

/** Room for the multipart framing and the small fields around the file, over maxFileBytes. */
const FORM_OVERHEAD_BYTES = 64 * 1024;
/** OpenAI's range for a file's `expires_after.seconds`: an hour to 30 days. */
export const EXPIRES_AFTER_MIN_S = 3_600;
export const EXPIRES_AFTER_MAX_S = 2_592_000;
const MAX_FILENAME_CHARS = 255;

/**
 * A refused upload is not read further. Its 400 leaves the connection open (closing a socket the
 * client is still writing to resets it, and the client would lose the answer): the client reads
 * it and gives up, or the edge's server.requestTimeoutMs ends the connection. So does a 413 found
 * mid-body; one declared by Content-Length closes it, like every 413 of the edge.
 */
function invalid(message: string, param: string | null = null): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

/**
 * Reads the multipart upload of `req`. Resolves with the file once it is all read and every line
 * passed; rejects with the GatewayError to answer (the request is left unread and its connection
 * is to be closed), or ClientGoneError when the client left or the edge timed the upload out.
 */
export function receiveUpload(req: IncomingMessage, limits: UploadLimits): Promise<Upload> {
  return new Promise((resolve, reject) => {
    const contentType = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data\s*;/i.test(contentType)) {
      req.resume();
      reject(new GatewayError('unsupported_media_type', 'POST /v1/files takes multipart/form-data with the fields `file` and `purpose`.'));
      return;
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limits.maxFileBytes + FORM_OVERHEAD_BYTES) {
      reject(tooLarge(limits.maxFileBytes));
      return;
    }
    let form: busboy.Busboy;
    try {
      form = busboy({ headers: req.headers, limits: { fileSize: limits.maxFileBytes, files: 1, fields: 8, fieldSize: 1_024, parts: 10, headerPairs: 16 } });
    } catch {
      req.resume();
      reject(new GatewayError('invalid_request', 'The multipart body has no boundary.'));
      return;
    }
    const fields = new Map<string, string>();
    let chunks: Buffer[] = [];
    let bytes = 0;
    let lines = 0;
    let filename: string | undefined;
    let fileDone = false;
    let settled = false;
    const customIds = new Set<string>();

    let held = 0;
    const releaseHeld = (): void => {
      limits.memory.release(held);
      held = 0;
    };
    const stop = (err: Error): void => {
      if (settled) return;
      settled = true;
      chunks = [];
      releaseHeld();
      customIds.clear();
      req.unpipe(form);
      req.pause();
      form.removeAllListeners();
      form.on('error', noop);
      // Not now: this may run inside one of busboy's own callbacks, which goes on using the file
      // stream that destroying it would take away.
      setImmediate(() => form.destroy());
      reject(err);
    };
    const onLine = (text: string, line: number): void => {
      const parsed = parseInputLine(text, line);
      if (isLineError(parsed)) throw new BadLine(parsed);
      lines += 1;
      if (lines > limits.maxLines) throw new BadLine({ code: 'too_many_requests', message: `The file has more than ${limits.maxLines} requests (batches.maxLines).`, param: null, line: line + 1 });
      if (customIds.has(parsed.customId)) {
        throw new BadLine({ code: 'duplicate_custom_id', message: `Line ${line + 1}: custom_id ${JSON.stringify(parsed.customId.slice(0, 64))} is used by an earlier line; each must be unique.`, param: 'custom_id', line: line + 1 });
      }
      customIds.add(parsed.customId);
    };
    const lineFailure = (err: unknown): Error => (err instanceof BadLine || err instanceof LineTooLong ? invalid(err.message, err instanceof BadLine ? (err.lineError.param ?? 'file') : 'file') : (err as Error));

    form.on('file', (name, stream, info) => {
      // A stopped upload ends its file stream with an error ("Unexpected end of file"): expected.
      stream.on('error', noop);
      if (name !== 'file' || filename !== undefined) {
        stream.resume();
        stop(invalid(`Unexpected file field '${name.slice(0, 32)}': send one file, as the field \`file\`.`, 'file'));
        return;
      }
      filename = cleanFilename(info.filename);
      const splitter = new LineSplitter(limits.maxLineBytes);
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (!limits.memory.take(chunk.length)) {
          stop(new GatewayError('uploads_busy', 'This replica is receiving as many uploads as it can hold; retry shortly.', { retryAfterMs: BUSY_RETRY_MS, headers: { connection: 'keep-alive' } }));
          return;
        }
        held += chunk.length;
        bytes += chunk.length;
        chunks.push(chunk);
        try {
          splitter.push(chunk, onLine);
        } catch (err) {
          stop(lineFailure(err));
        }
      });
      stream.on('limit', () => stop(tooLarge(limits.maxFileBytes, { connection: 'keep-alive' })));
      stream.on('end', () => {
        if (settled) return;
        try {
          splitter.end(onLine);
          fileDone = true;
        } catch (err) {
          stop(lineFailure(err));
        }
      });
    });
    form.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) return stop(invalid(`The field '${name.slice(0, 32)}' is too long.`, name.slice(0, 32)));
      if (name === 'purpose' && value !== 'batch') return stop(invalid(`purpose must be "batch": this gateway keeps files for the Batch API only.`, 'purpose'));
      fields.set(name, value);
    });
    const tooMany = (): void => stop(invalid('The multipart body has too many parts: send `file`, `purpose` and optionally `expires_after`.'));
    form.on('partsLimit', tooMany);
    form.on('filesLimit', tooMany);
    form.on('fieldsLimit', tooMany);
    form.on('error', () => stop(invalid('The multipart body is malformed.')));
    form.on('close', () => {
      if (settled) return;
      settled = true;
      try {
        if (filename === undefined || !fileDone) throw invalid('The upload has no `file` field.', 'file');
        if (!fields.has('purpose')) throw invalid('purpose is required ("batch").', 'purpose');
        const expiresAfterSeconds = expiresAfter(fields);
        if (lines === 0) throw invalid('The file holds no requests.', 'file');
        resolve({ filename, content: Buffer.concat(chunks, bytes), lines, expiresAfterSeconds, release: releaseHeld });
      } catch (err) {
        releaseHeld();
        reject(err as Error);
      } finally {
        chunks = [];
        customIds.clear();
      }
    });
    // A client gone mid-upload, or an upload the edge timed out (server.requestTimeoutMs): the
    // edge answers and records it; nothing is kept.
    req.on('error', () => stop(new ClientGoneError()));
    req.on('aborted', () => stop(new ClientGoneError()));
    req.pipe(form);
  });
}

/** 413; refused mid-body it leaves the connection open, like the 400s (see `invalid`). */
function tooLarge(maxFileBytes: number, headers?: Record<string, string>): GatewayError {
  return new GatewayError('request_too_large', `The file is larger than ${maxFileBytes} bytes (batches.maxFileBytes).`, { param: 'file', ...(headers ? { headers } : {}) });
}

/** `expires_after[anchor]` must be `created_at`; `expires_after[seconds]` an integer from an hour to 30 days. */
function expiresAfter(fields: ReadonlyMap<string, string>): number | undefined {
  const anchor = fields.get('expires_after[anchor]');
  const seconds = fields.get('expires_after[seconds]');
  if (anchor === undefined && seconds === undefined) return undefined;
  if (anchor !== 'created_at') throw invalid('expires_after.anchor must be "created_at".', 'expires_after.anchor');
  const n = Number(seconds);
  if (!Number.isInteger(n) || n < EXPIRES_AFTER_MIN_S || n > EXPIRES_AFTER_MAX_S) {
    throw invalid(`expires_after.seconds must be an integer from ${EXPIRES_AFTER_MIN_S} to ${EXPIRES_AFTER_MAX_S}.`, 'expires_after.seconds');
  }
  return n;
}

/** The client's file name, as a label: no control characters (PostgreSQL refuses U+0000), bounded. */
function cleanFilename(name: string | undefined): string {
  const clean = (name ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, MAX_FILENAME_CHARS);
  return clean === '' ? 'upload.jsonl' : clean;
}

function noop(): void {}
