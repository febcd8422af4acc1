import type { ServerResponse } from 'node:http';
import { ClientGoneError } from '../resilience/abort-reasons.js';

/**
 * Response bodies larger than this are written in pieces of about this size, each waiting until
 * the socket took the previous one; smaller ones are written at once (they fit the kernel's
 * socket buffer, so nothing stays in the process).
 */
export const pieceChars = 64 * 1024;

/**
 * The bytes handed to client sockets and not yet taken by the kernel, across every response
 * written in pieces: at most `capBytes`. A piece that does not fit waits (FIFO) for one that
 * drains; a client that reads nothing never holds more than one piece.
 */
export class OutputBudget {
  #availableBytes: number;
  readonly #waiters: Array<{ readonly bytes: number; readonly grant: () => void }> = [];

  constructor(readonly capBytes: number) {
    this.#availableBytes = capBytes;
  }

  /** Bytes in flight now (for tests and metrics). */
  get inFlightBytes(): number {
    return this.capBytes - this.#availableBytes;
  }

  /** Takes `bytes` at once if they fit and nobody is waiting; a piece larger than the cap fits an empty budget. */
  tryTake(bytes: number): boolean {
    if (this.#waiters.length > 0 || (bytes > this.#availableBytes && this.#availableBytes < this.capBytes)) return false;
    this.#availableBytes -= bytes;
    return true;
  }

  /** Waits for `bytes`; `grant` runs once they are taken. Returns a cancel function. */
  wait(bytes: number, grant: () => void): () => void {
    const waiter = { bytes, grant };
    this.#waiters.push(waiter);
    return () => {
      const i = this.#waiters.indexOf(waiter);
      if (i !== -1) this.#waiters.splice(i, 1);
    };
  }

  release(bytes: number): void {
    this.#availableBytes += bytes;
    while (this.#waiters.length > 0) {
      const next = this.#waiters[0] as { bytes: number; grant: () => void };
      if (next.bytes > this.#availableBytes && this.#availableBytes < this.capBytes) break;
      this.#waiters.shift();
      this.#availableBytes -= next.bytes;
      next.grant();
    }
  }
}

/** The client stopped reading for longer than the stall timeout (or waited that long for budget). */
export class WriteStalledError extends ClientGoneError {
  constructor(readonly stallTimeoutMs: number) {
    super();
    this.message = `client read nothing for ${stallTimeoutMs} ms`;
    this.name = 'WriteStalledError';
  }
}

/**
 * Writes `text` (headers already sent) in pieces and ends the response. Each piece first takes
 * its bytes from the shared budget, then waits until the socket has flushed it; waiting longer
 * than `stallTimeoutMs` for either destroys the response and rejects with WriteStalledError.
 * Rejects with ClientGoneError when the response closes first.
 */
export async function writeInPieces(res: ServerResponse, text: string, budget: OutputBudget, stallTimeoutMs: number): Promise<void> {
  for (let at = 0; at < text.length; at += pieceChars) await writePiece(res, text.slice(at, at + pieceChars), budget, stallTimeoutMs);
  res.end();
}

/**
 * Writes one piece (headers already sent) under the shared budget and waits until the socket has
 * flushed it, as `writeInPieces` does for each of its pieces; for bodies made as they are sent
 * (a batch's output file). Same rejections; does not end the response.
 */
export async function writePiece(res: ServerResponse, piece: string, budget: OutputBudget, stallTimeoutMs: number): Promise<void> {
  const bytes = Buffer.byteLength(piece);
  if (!budget.tryTake(bytes)) await waitForBudget(res, budget, bytes, stallTimeoutMs);
  try {
    await flushPiece(res, piece, stallTimeoutMs);
  } finally {
    budget.release(bytes);
  }
}

function waitForBudget(res: ServerResponse, budget: OutputBudget, bytes: number, stallTimeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off('close', onClose);
    };
    const cancel = budget.wait(bytes, () => {
      done();
      resolve();
    });
    const onClose = (): void => {
      done();
      cancel();
      reject(new ClientGoneError());
    };
    const timer = setTimeout(() => {
      done();
      cancel();
      res.destroy();
      reject(new WriteStalledError(stallTimeoutMs));
    }, stallTimeoutMs);
    res.on('close', onClose);
  });
}

function flushPiece(res: ServerResponse, piece: string, stallTimeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) {
      reject(new ClientGoneError());
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      res.off('close', onClose);
    };
    const onClose = (): void => {
      done();
      reject(new ClientGoneError());
    };
    const timer = setTimeout(() => {
      done();
      res.destroy();
      reject(new WriteStalledError(stallTimeoutMs));
    }, stallTimeoutMs);
    res.on('close', onClose);
    res.write(piece, (err) => {
      done();
      if (err) reject(new ClientGoneError());
      else resolve();
    });
  });
}
