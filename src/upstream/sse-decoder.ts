import type { SseEvent } from './sse-event.js';

/** Default cap on one unterminated line or event: 1 MiB. */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

export interface SseDecoderOptions {
  /**
   * Largest event (its data lines plus the current unterminated line), in UTF-8 bytes, that the
   * decoder will buffer before throwing SseTooLargeError. Default 1 MiB.
   */
  maxEventBytes?: number;
}

/** Thrown by SseDecoder.push when an unterminated line or event grows past `maxEventBytes`. */
export class SseTooLargeError extends Error {
  /** The configured limit, in bytes. */
  readonly limitBytes: number;

  constructor(limitBytes: number) {
    super(`SSE event larger than ${limitBytes} bytes`);
    this.name = 'SseTooLargeError';
    this.limitBytes = limitBytes;
  }
}

const CR = 13;
const LF = 10;

/**
 * A WHATWG HTML §9.2 event-stream parser whose output does not depend on how the bytes were
 * chunked. Feed bytes with `push`, call `end` once when the body ends. After it throws, discard
 * the instance: its buffers are left as they were. An `id:` is reported only on the event that
 * carried it (the SseEvent contract), not carried forward like a browser's lastEventId.
 */
export class SseDecoder {
  readonly #maxEventBytes: number;
  // One decoder for the whole stream, so UTF-8 sequences split across chunks survive. Its
  // default (ignoreBOM: false) strips exactly one leading BOM, as the spec requires.
  readonly #utf8 = new TextDecoder('utf-8');
  // Pieces of the current unterminated line; joined once when its line end arrives, so a long
  // line delivered in tiny chunks costs linear, not quadratic, time.
  #partial: string[] = [];
  #partialBytes = 0;
  // The previous text ended in CR: an LF at the start of the next text belongs to that CR.
  #skipLeadingLf = false;
  #dataLines: string[] = [];
  #eventBytes = 0;
  #eventType: string | undefined = undefined;
  #id: string | undefined = undefined;

  constructor(options: SseDecoderOptions = {}) {
    this.#maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  /** Decodes the next bytes; returns the events completed by them. Throws SseTooLargeError. */
  push(bytes: Uint8Array): SseEvent[] {
    const text = this.#utf8.decode(bytes, { stream: true });
    const out: SseEvent[] = [];
    if (text.length > 0) this.#scan(text, out);
    return out;
  }

  /**
   * Ends the stream and resets the decoder. Always returns no events: per the spec an event not
   * terminated by a blank line is discarded, so a body cut mid-event never yields a partial
   * payload. Callers detect truncation by the missing terminal event (e.g. OpenAI's `[DONE]`).
   */
  end(): SseEvent[] {
    this.#utf8.decode();
    this.#partial = [];
    this.#partialBytes = 0;
    this.#skipLeadingLf = false;
    this.#resetEvent();
    return [];
  }

  #scan(text: string, out: SseEvent[]): void {
    let start = 0;
    if (this.#skipLeadingLf) {
      if (text.charCodeAt(0) === LF) start = 1;
      this.#skipLeadingLf = false;
    }
    // indexOf is much faster than a line-end regex; each position is cached until passed and
    // -1 means "none left", so the scan stays linear in the text length.
    let lf = -2;
    let cr = -2;
    for (;;) {
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
      if (lf === -1 && cr === -1) break;
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      this.#takeLine(text.slice(start, end), out);
      start = end === cr && text.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
    }
    if (start < text.length) this.#keepPartial(text.slice(start));
    // A CR that ends the text was taken as a line end; remember it so a following LF is not a
    // second (blank) line.
    if (text.charCodeAt(text.length - 1) === CR) this.#skipLeadingLf = true;
  }

  #takeLine(tail: string, out: SseEvent[]): void {
    let line = tail;
    if (this.#partial.length > 0) {
      this.#partial.push(tail);
      line = this.#partial.join('');
      this.#partial = [];
      this.#partialBytes = 0;
    }
    this.#processLine(line, out);
  }

  #keepPartial(rest: string): void {
    this.#partial.push(rest);
    this.#partialBytes += Buffer.byteLength(rest, 'utf8');
    if (this.#partialBytes + this.#eventBytes > this.#maxEventBytes) {
      throw new SseTooLargeError(this.#maxEventBytes);
    }
  }

  #processLine(line: string, out: SseEvent[]): void {
    if (line.length === 0) {
      this.#dispatch(out);
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) return; // comment
    let field = line;
    let value = '';
    if (colon > 0) {
      field = line.slice(0, colon);
      const valueStart = line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1;
      value = line.slice(valueStart);
    }
    switch (field) {
      case 'data':
        this.#eventBytes += Buffer.byteLength(value, 'utf8') + 1;
        if (this.#eventBytes > this.#maxEventBytes) throw new SseTooLargeError(this.#maxEventBytes);
        this.#dataLines.push(value);
        return;
      case 'event':
        this.#eventType = value;
        return;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        return;
      default:
        // `retry:` and unknown fields are ignored: reconnection is the caller's policy.
        return;
    }
  }

  #dispatch(out: SseEvent[]): void {
    // The spec dispatches only when the data buffer is non-empty; `data:` with an empty value
    // still counts (it contributes a line), so track lines rather than the joined string.
    if (this.#dataLines.length > 0) {
      const data = this.#dataLines.length === 1 ? (this.#dataLines[0] ?? '') : this.#dataLines.join('\n');
      // An empty `event:` means the default type, which the contract spells as undefined.
      const event = this.#eventType === '' ? undefined : this.#eventType;
      out.push({ event, data, id: this.#id });
    }
    this.#resetEvent();
  }

  #resetEvent(): void {
    this.#dataLines = [];
    this.#eventBytes = 0;
    this.#eventType = undefined;
    this.#id = undefined;
  }
}
