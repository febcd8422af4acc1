import type { ServerResponse } from 'node:http';
import { GatewayError } from '../errors/gateway-error.js';
import type { LiveAggregator } from '../observability/live/live-aggregator.js';

/**
 * The live console's server-sent event streams (`GET /admin/v1/live`): each gets `retry`, the
 * history, then one `tick` event a second and a `: ping` comment every 15 s. Bounded: at most
 * `maxStreams` at once (the next is a 429); a reader whose socket holds more than
 * `maxBufferedBytes` unsent is dropped (we never queue without bound for a client that stopped
 * reading); every stream ends on drain. The caller's credential is checked again every tick, so
 * a key revoked (or a role lowered) while its stream is open is cut within about a second.
 * Each tick is serialized once (by the aggregator) for every stream; with no stream open the hub listens to nothing.
 */
export interface LiveHubOptions {
  readonly maxStreams: number;
  readonly maxBufferedBytes: number;
  readonly pingMs: number;
  /** A credential re-check still unanswered after this long ends the stream (fail closed). */
  readonly recheckDeadlineMs?: number;
}

export const liveHubDefaults: LiveHubOptions = { maxStreams: 16, maxBufferedBytes: 1024 * 1024, pingMs: 15_000, recheckDeadlineMs: 10_000 };

/** The SSE response head. */
const head = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-store',
  'x-accel-buffering': 'no',
} as const;

interface Stream {
  readonly res: ServerResponse;
  /** Resolves false once the caller may no longer see live traffic (revoked, expired, role lowered). */
  readonly stillAllowed: () => Promise<boolean>;
  /** Bytes of the history event: the first seconds may hold that much unsent on a slow link. */
  readonly historyBytes: number;
  readonly openedMs: number;
  checking: boolean;
  /** When the pending re-check started (Date.now()). */
  checkStartedMs: number;
  lastPingMs: number;
}

/** How long the history's size is added to the buffered-bytes bound after a stream opens. */
const HISTORY_GRACE_MS = 10_000;

export class LiveHub {
  readonly #aggregator: LiveAggregator;
  readonly #options: LiveHubOptions;
  readonly #streams = new Set<Stream>();
  #unsubscribe: (() => void) | undefined;
  #closed = false;
  #history: { readonly json: string; readonly bytes: Buffer } | undefined;

  constructor(aggregator: LiveAggregator, options: LiveHubOptions = liveHubDefaults) {
    this.#aggregator = aggregator;
    this.#options = options;
  }

  get size(): number {
    return this.#streams.size;
  }

  /**
   * Opens a stream on `res` (the caller is authorized). Throws a 429 when `maxStreams` are open,
   * a 503 once the gateway drains.
   */
  open(res: ServerResponse, stillAllowed: () => Promise<boolean>, extraHeaders: Readonly<Record<string, string>> = {}): void {
    if (this.#closed) throw new GatewayError('shutting_down', 'The gateway is shutting down.');
    if (this.#streams.size >= this.#options.maxStreams) {
      throw new GatewayError('rate_limit_exceeded', `At most ${this.#options.maxStreams} live streams may be open at once on this gateway process; close one (another console tab) and retry.`, { retryAfterMs: 5_000 });
    }
    if (res.req.method === 'HEAD') {
      // The router answers HEAD with the GET route. A HEAD answer has no body: a stream opened for
      // it was never ended, held a slot while the client kept its connection, and stalled the next
      // request sent on it. The head alone, ended.
      res.writeHead(200, { ...extraHeaders, ...head });
      res.end();
      return;
    }
    const history = this.#historyEvent();
    const now = Date.now();
    const stream: Stream = { res, stillAllowed, historyBytes: history.length, openedMs: now, checking: false, checkStartedMs: 0, lastPingMs: now };
    this.#streams.add(stream);
    res.once('close', () => this.#remove(stream));
    res.writeHead(200, { ...extraHeaders, ...head });
    res.write(history);
    this.#unsubscribe ??= this.#aggregator.onTick((_tick, json) => this.#broadcast(json));
  }

  /**
   * The retry and history events as bytes, built once per tick from the aggregator's serialized
   * history: with 50 models and 50 deployments it is ~4 MB, and consoles opening (or reconnecting)
   * in the same second share one copy instead of each serializing and encoding it on the loop.
   */
  #historyEvent(): Buffer {
    const json = this.#aggregator.historyJson();
    if (this.#history?.json !== json) {
      this.#history = { json, bytes: Buffer.from(`retry: 2000\n\nevent: history\ndata: {"intervalMs":1000,"ticks":${json}}\n\n`) };
    }
    return this.#history.bytes;
  }

  /** Ends every stream and refuses new ones (the drain). */
  closeAll(): void {
    this.#closed = true;
    for (const s of [...this.#streams]) this.#end(s);
  }

  #broadcast(tickJson: string): void {
    const event = `event: tick\ndata: ${tickJson}\n\n`;
    const now = Date.now();
    for (const s of [...this.#streams]) {
      const res = s.res;
      if (res.destroyed || res.writableEnded) {
        this.#remove(s);
        continue;
      }
      const bound = this.#options.maxBufferedBytes + (now - s.openedMs < HISTORY_GRACE_MS ? s.historyBytes : 0);
      if (buffered(res) > bound) {
        // A reader that stopped reading: dropped, never buffered for without bound.
        res.destroy();
        this.#remove(s);
        continue;
      }
      res.write(event);
      if (now - s.lastPingMs >= this.#options.pingMs) {
        // Ticks already keep proxies from idling the stream out; the ping is the contract's heartbeat.
        res.write(': ping\n\n');
        s.lastPingMs = now;
      }
      this.#recheck(s);
    }
  }

  /** Asks again whether the caller may watch (one check at a time per stream); a refusal ends the stream. */
  #recheck(s: Stream): void {
    if (s.checking) {
      // A check that hangs (a JWKS fetch, say) must not let a revoked caller watch until it ends.
      if (Date.now() - s.checkStartedMs > (this.#options.recheckDeadlineMs ?? liveHubDefaults.recheckDeadlineMs!)) this.#end(s);
      return;
    }
    s.checking = true;
    s.checkStartedMs = Date.now();
    s.stillAllowed().then(
      (ok) => {
        s.checking = false;
        if (!ok) this.#end(s);
      },
      () => {
        s.checking = false;
        this.#end(s);
      },
    );
  }

  #end(s: Stream): void {
    this.#remove(s);
    if (!s.res.destroyed && !s.res.writableEnded) s.res.end();
  }

  #remove(s: Stream): void {
    if (!this.#streams.delete(s)) return;
    if (this.#streams.size === 0) {
      this.#unsubscribe?.();
      this.#unsubscribe = undefined;
    }
  }
}

/** Bytes written to the response that the kernel has not taken yet (the response reports its socket's). */
function buffered(res: ServerResponse): number {
  return Math.max(res.writableLength, res.socket?.writableLength ?? 0);
}
