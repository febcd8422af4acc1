import type { ServerResponse } from 'node:http';
import type { GatewayError } from '../errors/gateway-error.js';
import type { StreamWriter } from '../pipeline/reply.js';
import { ClientGoneError } from '../resilience/abort-reasons.js';
import { errorPayload } from './error-response.js';

/** How chunks, errors and the end look on the wire for one API surface. */
export interface SseFormat {
  frame(chunk: unknown): string;
  error(err: GatewayError): string;
  /** Written after the last chunk of a complete stream. */
  readonly end: string;
}

/** OpenAI: `data:` lines only, `data: [DONE]` at the end, errors as `data: {"error":…}`. */
export const openAiSse: SseFormat = {
  frame: (chunk) => `data: ${JSON.stringify(chunk)}\n\n`,
  error: (err) => `data: ${errorPayload(err, 'openai')}\n\n`,
  end: 'data: [DONE]\n\n',
};

/**
 * Anthropic: every event named (`event:` line repeating the JSON `type`; the Anthropic SDKs drop
 * unnamed events), no end marker (message_stop is the end), errors as an `error` event.
 */
export const anthropicSse: SseFormat = {
  frame: (chunk) => `event: ${(chunk as { type: string }).type}\ndata: ${JSON.stringify(chunk)}\n\n`,
  error: (err) => `event: error\ndata: ${errorPayload(err, 'anthropic')}\n\n`,
  end: '',
};

/**
 * OpenAI's Responses API: every event named (`event:` repeating the JSON `type`), no end marker
 * (`response.completed` is the end), and a failure as one `error` event
 * `{type, code, message, param, sequence_number}` numbered after the last event sent. That
 * number is per stream, so each stream gets its own format.
 */
export function responsesSse(): SseFormat {
  let next = 0;
  return {
    frame: (chunk) => {
      const event = chunk as { type: string; sequence_number?: unknown };
      if (typeof event.sequence_number === 'number') next = event.sequence_number + 1;
      return `event: ${event.type}\ndata: ${JSON.stringify(chunk)}\n\n`;
    },
    error: (err) => {
      const { error } = err.toBody();
      const event = { type: 'error', code: error.code, message: error.message, param: error.param, sequence_number: next++ };
      return `event: error\ndata: ${JSON.stringify(event)}\n\n`;
    },
    end: '',
  };
}

/** Headers every SSE response carries (no caching, no proxy buffering). */
export const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;

/**
 * Chunks → SSE bytes on a Node response. Honours back-pressure: when the socket buffer is full
 * we wait for 'drain', and a client that stops reading for `stallTimeoutMs` is cut off (F-22).
 */
export class SseWriter implements StreamWriter {
  readonly #res: ServerResponse;
  readonly #stallTimeoutMs: number;
  readonly #format: SseFormat;

  constructor(res: ServerResponse, stallTimeoutMs: number, format: SseFormat = openAiSse) {
    this.#res = res;
    this.#stallTimeoutMs = stallTimeoutMs;
    this.#format = format;
  }

  async write(chunks: readonly unknown[]): Promise<void> {
    const res = this.#res;
    if (res.destroyed || res.writableEnded) throw new ClientGoneError();
    let payload = '';
    for (const chunk of chunks) payload += this.#format.frame(chunk);
    if (payload === '' || res.write(payload)) return;
    await this.#drain();
  }

  fail(err: GatewayError): void {
    const res = this.#res;
    if (res.destroyed || res.writableEnded) return;
    res.end(this.#format.error(err));
  }

  done(): void {
    const res = this.#res;
    if (res.destroyed || res.writableEnded) return;
    res.end(this.#format.end);
  }

  #drain(): Promise<void> {
    const res = this.#res;
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        res.off('drain', onDrain);
        res.off('close', onClose);
      };
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(new ClientGoneError());
      };
      const timer = setTimeout(() => {
        cleanup();
        res.destroy();
        reject(new ClientGoneError());
      }, this.#stallTimeoutMs);
      res.on('drain', onDrain);
      res.on('close', onClose);
    });
  }
}
