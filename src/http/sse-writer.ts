import type { ServerResponse } from 'node:http';
import type { GatewayError } from '../errors/gateway-error.js';
import type { StreamWriter } from '../pipeline/reply.js';
import { ClientGoneError } from '../resilience/abort-reasons.js';

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

  constructor(res: ServerResponse, stallTimeoutMs: number) {
    this.#res = res;
    this.#stallTimeoutMs = stallTimeoutMs;
  }

  async write(chunks: readonly unknown[]): Promise<void> {
    const res = this.#res;
    if (res.destroyed || res.writableEnded) throw new ClientGoneError();
    let payload = '';
    for (const chunk of chunks) payload += `data: ${JSON.stringify(chunk)}\n\n`;
    if (payload === '' || res.write(payload)) return;
    await this.#drain();
  }

  fail(err: GatewayError): void {
    const res = this.#res;
    if (res.destroyed || res.writableEnded) return;
    res.end(`data: ${JSON.stringify(err.toBody())}\n\n`);
  }

  done(): void {
    const res = this.#res;
    if (res.destroyed || res.writableEnded) return;
    res.end('data: [DONE]\n\n');
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
