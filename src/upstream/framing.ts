import type { EventStreamCodec } from '@smithy/core/event-streams';
import { aws } from '../lazy-packages.js';
import { UpstreamProtocolError } from '../providers/types.js';
import { SseDecoder } from './sse-decoder.js';
import type { SseEvent } from './sse-event.js';

/** How an upstream frames the events of a streamed response. */
export type StreamFraming = 'sse' | 'ndjson' | 'aws-eventstream';

/** Bytes → events, whatever the framing; every framing yields the same SseEvent shape. */
export interface EventDecoder {
  /** Decodes what this read completes; keeps partial frames for the next call. Throws UpstreamProtocolError. */
  push(bytes: Uint8Array): SseEvent[];
  /** Called at end of body: events still pending (a final line without newline, for NDJSON). */
  end(): SseEvent[];
}

/** A fresh decoder for one response body. */
export function createEventDecoder(framing: StreamFraming): EventDecoder {
  switch (framing) {
    case 'sse':
      return new SseDecoder();
    case 'ndjson':
      return new NdjsonDecoder();
    case 'aws-eventstream':
      return new AwsEventStreamDecoder();
  }
}

/**
 * Largest NDJSON line or event-stream message, in bytes. A bigger one fails the attempt as an
 * upstream protocol error (retried on another target while nothing has reached the client): no
 * provider sends single events anywhere near this, and buffering one is memory held per stream.
 */
export const maxFrameBytes = 8 * 1024 * 1024;

/** Thrown when one NDJSON line or event-stream message is larger than maxFrameBytes. */
function frameTooLarge(what: string, bytes: number): UpstreamProtocolError {
  return new UpstreamProtocolError(`${what} of ${bytes} bytes or more, larger than the ${maxFrameBytes}-byte limit`);
}

/**
 * Newline-delimited JSON (Ollama): one event per non-empty line, data = the line. Each read's
 * text is scanned once; the pieces of an unfinished line are kept in a list and joined once
 * when its newline arrives (like SseDecoder), so a long line in small reads costs linear time.
 */
export class NdjsonDecoder implements EventDecoder {
  readonly #text = new TextDecoder('utf-8');
  #partial: string[] = [];
  #partialBytes = 0;

  push(bytes: Uint8Array): SseEvent[] {
    const text = this.#text.decode(bytes, { stream: true });
    const events: SseEvent[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      pushLine(events, this.#completed(text.slice(start, nl)));
      start = nl + 1;
    }
    if (start < text.length) {
      const rest = text.slice(start);
      this.#partial.push(rest);
      this.#partialBytes += Buffer.byteLength(rest, 'utf8');
      if (this.#partialBytes > maxFrameBytes) throw frameTooLarge('NDJSON line', this.#partialBytes);
    }
    return events;
  }

  end(): SseEvent[] {
    const events: SseEvent[] = [];
    pushLine(events, this.#completed(this.#text.decode()));
    return events;
  }

  /** The line that `tail` ends: the kept pieces, if any, joined with it. */
  #completed(tail: string): string {
    if (this.#partial.length === 0) return tail;
    this.#partial.push(tail);
    const line = this.#partial.join('');
    this.#partial = [];
    this.#partialBytes = 0;
    return line;
  }
}

function pushLine(events: SseEvent[], raw: string): void {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line.trim() !== '') events.push({ event: undefined, data: line, id: undefined });
}

/**
 * AWS binary event-stream (Bedrock ConverseStream): length-prefixed messages whose prelude and
 * message CRCs are verified by Smithy's codec. `event` is the `:event-type` header, or
 * `exception:<type>` for exception messages; `data` is the UTF-8 payload.
 */
export class AwsEventStreamDecoder implements EventDecoder {
  readonly #codec: EventStreamCodec;
  readonly #toUtf8: (bytes: Uint8Array) => string;
  /**
   * Reads not yet decoded, in order, and their total length. A message is copied out once, when
   * all of it has arrived (or not at all when it lies in one read), so a large message in small
   * reads costs linear time, not a copy of everything buffered on every read.
   */
  #chunks: Uint8Array[] = [];
  #buffered = 0;

  constructor() {
    const { EventStreamCodec, fromUtf8, toUtf8 } = aws();
    this.#codec = new EventStreamCodec(toUtf8, fromUtf8);
    this.#toUtf8 = toUtf8;
  }

  push(bytes: Uint8Array): SseEvent[] {
    if (bytes.length > 0) {
      this.#chunks.push(bytes);
      this.#buffered += bytes.length;
    }
    const events: SseEvent[] = [];
    while (this.#buffered >= 4) {
      const prelude = this.#take(4, false);
      const total = new DataView(prelude.buffer, prelude.byteOffset, 4).getUint32(0);
      if (total > maxFrameBytes) throw frameTooLarge('event-stream message', total);
      if (total < 16) throw new UpstreamProtocolError(`event-stream message of ${total} bytes`);
      if (this.#buffered < total) break;
      events.push(this.#decode(this.#take(total, true)));
    }
    return events;
  }

  /** The first `length` buffered bytes (a view when they lie in one read), removed when `consume`. */
  #take(length: number, consume: boolean): Uint8Array {
    const first = this.#chunks[0] as Uint8Array;
    let out: Uint8Array;
    if (first.length >= length) {
      out = first.subarray(0, length);
      if (consume) {
        if (first.length === length) this.#chunks.shift();
        else this.#chunks[0] = first.subarray(length);
      }
    } else {
      out = new Uint8Array(length);
      let filled = 0;
      let used = 0;
      for (const chunk of this.#chunks) {
        const n = Math.min(chunk.length, length - filled);
        out.set(n === chunk.length ? chunk : chunk.subarray(0, n), filled);
        filled += n;
        if (filled === length) {
          if (consume) {
            this.#chunks = this.#chunks.slice(n === chunk.length ? used + 1 : used);
            if (n < chunk.length) this.#chunks[0] = chunk.subarray(n);
          }
          break;
        }
        used += 1;
      }
    }
    if (consume) this.#buffered -= length;
    return out;
  }

  end(): SseEvent[] {
    if (this.#buffered > 0) throw new UpstreamProtocolError('event stream ended inside a message');
    return [];
  }

  #decode(frame: Uint8Array): SseEvent {
    let message;
    try {
      message = this.#codec.decode(frame);
    } catch (err) {
      throw new UpstreamProtocolError(`invalid event-stream message: ${(err as Error).message}`);
    }
    const header = (name: string): string | undefined => {
      const h = message.headers[name];
      return h && h.type === 'string' ? h.value : undefined;
    };
    const type = header(':message-type');
    const event = type === 'event' ? header(':event-type') : `exception:${header(':exception-type') ?? header(':error-code') ?? 'unknown'}`;
    return { event, data: this.#toUtf8(message.body), id: undefined };
  }
}
