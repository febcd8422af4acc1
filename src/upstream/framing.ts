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

const maxFrameBytes = 16 * 1024 * 1024;

/** Newline-delimited JSON (Ollama): one event per non-empty line, data = the line. */
export class NdjsonDecoder implements EventDecoder {
  readonly #text = new TextDecoder('utf-8');
  #pending = '';

  push(bytes: Uint8Array): SseEvent[] {
    this.#pending += this.#text.decode(bytes, { stream: true });
    const events: SseEvent[] = [];
    let start = 0;
    for (let nl = this.#pending.indexOf('\n'); nl !== -1; nl = this.#pending.indexOf('\n', start)) {
      pushLine(events, this.#pending.slice(start, nl));
      start = nl + 1;
    }
    this.#pending = this.#pending.slice(start);
    if (this.#pending.length > maxFrameBytes) throw new UpstreamProtocolError('NDJSON line larger than 16 MiB');
    return events;
  }

  end(): SseEvent[] {
    const events: SseEvent[] = [];
    pushLine(events, this.#pending + this.#text.decode());
    this.#pending = '';
    return events;
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
  #buffer: Uint8Array = new Uint8Array(0);

  constructor() {
    const { EventStreamCodec, fromUtf8, toUtf8 } = aws();
    this.#codec = new EventStreamCodec(toUtf8, fromUtf8);
    this.#toUtf8 = toUtf8;
  }

  push(bytes: Uint8Array): SseEvent[] {
    this.#buffer = this.#buffer.length === 0 ? bytes : concat(this.#buffer, bytes);
    const events: SseEvent[] = [];
    while (this.#buffer.length >= 4) {
      const view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.byteLength);
      const total = view.getUint32(0);
      if (total < 16 || total > maxFrameBytes) throw new UpstreamProtocolError(`event-stream message of ${total} bytes`);
      if (this.#buffer.length < total) break;
      events.push(this.#decode(this.#buffer.subarray(0, total)));
      this.#buffer = this.#buffer.subarray(total);
    }
    return events;
  }

  end(): SseEvent[] {
    if (this.#buffer.length > 0) throw new UpstreamProtocolError('event stream ended inside a message');
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

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
