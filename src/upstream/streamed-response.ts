import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';

/**
 * undici's error for a body cut without a reason (what `pool.request()` bodies gave), from its
 * own file: importing it from 'undici' would load undici's whole index (fetch, WebSocket, caches,
 * mocks) at start, ~3 MB of heap the gateway never uses.
 */
const { RequestAbortedError } = createRequire(import.meta.url)('undici/lib/core/errors') as typeof Undici.errors;

/** A streamed upstream response whose headers have arrived; its body is read with `body.read()`. */
export interface StreamedReply {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: UpstreamBody;
}

/** The body of a streamed upstream response, for one reader. */
export interface UpstreamBody {
  /**
   * Every piece that arrived since the last read (waiting for one if none has), or null once
   * the body has ended. Rejects with what cut it otherwise: undici's error (reset, idle
   * timeout), the call's signal's reason, or the error given to `destroy`.
   */
  read(): Promise<readonly Buffer[] | null>;
  /** Stops the body now (the connection is dropped unless the response was complete); a pending or later read rejects with `err`. */
  destroy(err?: Error): void;
}

/**
 * Unread bytes past which undici stops reading the connection until the reader catches up: a
 * Readable's default highWaterMark, which the `pool.request()` bodies used before had.
 */
const highWaterMark = 64 * 1024;

/**
 * One streamed upstream call as an undici dispatch handler: `pool.request()` without the
 * Readable stream, its async iterator, the AsyncResource and the wrapper objects it adds per
 * call and per chunk (bench/analysis.md). It behaves as that body did for us: the pieces that
 * arrive in one turn of the event loop are read together, undici pauses past 64 KB unread,
 * the call's signal cuts the body with its reason, and the connection slot (`release`) and the
 * abort listener are given back when the body closes: read to its end, failed or destroyed.
 */
export class StreamedResponse implements Dispatcher.DispatchHandler, UpstreamBody {
  readonly #signal: AbortSignal;
  readonly #release: () => void;
  #opened: { resolve: (reply: StreamedReply) => void; reject: (err: unknown) => void } | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #pieces: Buffer[] = [];
  #bytes = 0;
  /** undici delivered the whole body. */
  #complete = false;
  /** What cut the body (or the call before its headers), once it is cut. */
  #error: Error | undefined;
  /** The slot and the listener were given back. */
  #closed = false;
  /** Wakes a read waiting for a piece, the end or an error. */
  #wake: (() => void) | undefined;
  readonly #onAbort = (): void => this.#aborted();

  constructor(signal: AbortSignal, release: () => void, resolve: (reply: StreamedReply) => void, reject: (err: unknown) => void) {
    this.#signal = signal;
    this.#release = release;
    this.#opened = { resolve, reject };
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#error !== undefined) controller.abort(this.#error);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // undici keeps the raw header buffers on the controller for the call's life (~1.6 KB per
    // open stream); the parsed `headers` are what is used.
    controller.rawHeaders = null;
    // An informational answer (100 Continue) is not the response.
    if (statusCode < 200) return;
    const opened = this.#opened;
    this.#opened = undefined;
    opened?.resolve({ statusCode, headers, body: this });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#error !== undefined) return;
    this.#pieces.push(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes >= highWaterMark) controller.pause();
    this.#wakeReader();
  }

  onResponseEnd(): void {
    this.#complete = true;
    this.#wakeReader();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#fail(err);
    // undici is done with the call: nothing is left to read.
    this.#close();
  }

  async read(): Promise<readonly Buffer[] | null> {
    while (this.#error === undefined && this.#pieces.length === 0 && !this.#complete) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    if (this.#error !== undefined) throw this.#error;
    if (this.#pieces.length === 0) {
      this.#close();
      return null;
    }
    // Taken before resuming: undici may deliver more at once, into the next read.
    const pieces = this.#pieces;
    this.#pieces = [];
    this.#bytes = 0;
    if (this.#controller?.paused === true) this.#controller.resume();
    return pieces;
  }

  destroy(err: Error = new RequestAbortedError()): void {
    if (this.#error !== undefined || this.#closed) return;
    this.#fail(err);
    if (!this.#complete) this.#controller?.abort(err);
    this.#close();
  }

  /** The call's signal aborted: before the headers the call fails at once with its reason, after them the body does. */
  #aborted(): void {
    const reason = (this.#signal.reason as Error | undefined) ?? new RequestAbortedError();
    if (this.#opened !== undefined) {
      this.#fail(reason);
      // undici honours an abort only once the call is dispatched (onRequestStart aborts it then).
      this.#controller?.abort(reason);
      return;
    }
    this.destroy(reason);
  }

  /** Cut: buffered pieces are dropped (as a destroyed stream's), a waiting read and a waiting caller get `err`. */
  #fail(err: Error): void {
    if (this.#error !== undefined) return;
    this.#error = err;
    this.#pieces = [];
    this.#bytes = 0;
    const opened = this.#opened;
    this.#opened = undefined;
    opened?.reject(err);
    this.#wakeReader();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal.removeEventListener('abort', this.#onAbort);
    this.#release();
  }
}

/** Reads a whole streamed body as text (an error status's), refusing more than `maxBytes` (a misbehaving upstream must not exhaust memory). */
export async function readBodyText(body: UpstreamBody, maxBytes: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for (let pieces = await body.read(); pieces !== null; pieces = await body.read()) {
    for (const piece of pieces) {
      size += piece.length;
      parts.push(piece);
    }
    if (size > maxBytes) {
      body.destroy();
      throw new Error(`upstream body larger than ${maxBytes} bytes`);
    }
  }
  return parts.length === 1 ? (parts[0] as Buffer).toString('utf8') : Buffer.concat(parts).toString('utf8');
}
