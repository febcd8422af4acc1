import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { anthropicDialect } from './anthropic-dialect.js';
import { deliver, parseBody, readBody, wait } from './exchange.js';
import type { Answer, DeliveryFault, DialectContext, FakeDialect, FakeRequest } from './exchange.js';
import { openAiDialect } from './openai-dialect.js';
import { defaultBehaviour, mergeBehaviour } from './script.js';
import { seededRandom } from '../seeded-random.js';
import type { Behaviour, FakeDialectName, Fault } from './script.js';
import { tritonDialect } from './triton-dialect.js';
import { bedrockDialect } from './bedrock-dialect.js';
import { geminiDialect } from './gemini-dialect.js';
import { ollamaDialect } from './ollama-dialect.js';

export interface FakeUpstreamOptions {
  dialect: FakeDialectName;
  /** Shown in the default reply; default `fake-<dialect>`. */
  name?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  behaviour?: Partial<Behaviour>;
  /**
   * When set, the OpenAI dialect requires `Authorization: Bearer <apiKey>` and the Gemini one
   * `x-goog-api-key` (or `?key=`). Bedrock dialect: the AWS secret access key; when set, every
   * SigV4 signature is verified with it. Anthropic dialect: `x-api-key` or Bearer.
   */
  apiKey?: string;
  /** When set, other model names get the dialect's unknown-model error. */
  models?: string[];
}

/** Counters over inference requests only (chat, embeddings, generate, generate_stream). */
export interface FakeStats {
  /** Inference requests received. */
  requests: number;
  /** Responses written in full, whatever their status (scripted errors included). */
  completed: number;
  /** Requests whose client went away before the fake finished its response. */
  aborted: number;
  /** Requests that consumed a queued fault or drew a `failureRate` 500. */
  faulted: number;
}

/** One request as the fake received it (every route, not only inference). */
export interface ReceivedRequest {
  method: string;
  /** Without the query string. */
  path: string;
  /** The raw query string without `?`. */
  query?: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
}

/** How many received requests are kept (the oldest are dropped first). */
export const MAX_RECEIVED = 1000;

const DIALECTS: Record<FakeDialectName, FakeDialect> = { openai: openAiDialect, triton: tritonDialect, gemini: geminiDialect, ollama: ollamaDialect, bedrock: bedrockDialect, anthropic: anthropicDialect };

/** One request in flight, as #handle hands it to #serve. */
interface Exchange {
  method: string;
  path: string;
  inference: boolean;
  signal: AbortSignal;
  /** Ends the exchange on the fake's initiative: a TCP reset, or an abrupt close that keeps sent bytes. */
  destroySocket(reset: boolean): void;
}

interface AbortWaiter {
  count: number;
  settle(error?: Error): void;
}

/** The address a client should dial: wildcard binds are reached through loopback. */
function dialHost(address: AddressInfo): string {
  if (address.address === '0.0.0.0' || address.address === '::') return '127.0.0.1';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

/**
 * A protocol-faithful fake OpenAI or Triton server on a real socket, with scripted faults.
 * Start with `FakeUpstream.start`, always `close()` it (also ends hanging and stalled requests).
 */
export class FakeUpstream {
  readonly name: string;
  readonly dialect: FakeDialectName;
  /** Live counters (updated in place; `reset()` zeroes them). */
  readonly stats: Readonly<FakeStats> = { requests: 0, completed: 0, aborted: 0, faulted: 0 };
  /** Live list of the last MAX_RECEIVED requests, oldest first. */
  readonly received: readonly ReceivedRequest[] = [];
  readonly #dialect: FakeDialect;
  readonly #server: Server;
  readonly #apiKey: string | undefined;
  readonly #models: readonly string[] | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #inFlight = new Set<AbortController>();
  readonly #abortWaiters = new Set<AbortWaiter>();
  #queue: Fault[] = [];
  #behaviour: Behaviour;
  #random: () => number;
  #sequence = 0;
  #origin = '';
  #closed: Promise<void> | undefined;

  private constructor(options: FakeUpstreamOptions) {
    this.dialect = options.dialect;
    this.name = options.name ?? `fake-${options.dialect}`;
    this.#dialect = DIALECTS[options.dialect];
    this.#apiKey = options.apiKey;
    this.#models = options.models === undefined ? undefined : [...options.models];
    this.#behaviour = mergeBehaviour(defaultBehaviour, options.behaviour ?? {});
    this.#random = seededRandom(this.#behaviour.seed);
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts a fake listening on host:port (default 127.0.0.1:0). Rejects if it cannot bind. */
  static async start(options: FakeUpstreamOptions): Promise<FakeUpstream> {
    const fake = new FakeUpstream(options);
    await new Promise<void>((resolve, reject) => {
      fake.#server.once('error', reject);
      fake.#server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        fake.#server.off('error', reject);
        resolve();
      });
    });
    fake.#origin = `http://${dialHost(fake.#server.address() as AddressInfo)}:${fake.port}`;
    return fake;
  }

  /** What a client uses as base URL: `http://127.0.0.1:PORT/v1` (openai) or `http://127.0.0.1:PORT` (triton). */
  get baseUrl(): string {
    return `${this.#origin}${this.#dialect.basePath}`;
  }

  /** The bound TCP port. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** TCP connections currently open to the fake (keep-alive ones included). */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** The current normal behaviour. */
  get behaviour(): Readonly<Behaviour> {
    return this.#behaviour;
  }

  /** Faults not yet consumed. */
  get queuedFaults(): number {
    return this.#queue.length;
  }

  /** Queues faults: each of the next inference requests consumes one, in order. */
  enqueue(...faults: Fault[]): void {
    this.#queue.push(...faults);
  }

  /** Changes the normal behaviour for requests that start from now on. Throws RangeError. */
  setBehaviour(patch: Partial<Behaviour>): void {
    this.#behaviour = mergeBehaviour(this.#behaviour, patch);
    if (patch.seed !== undefined) this.#random = seededRandom(this.#behaviour.seed);
  }

  /** Resolves once `stats.aborted` ≥ n; rejects after timeoutMs or when the fake closes. */
  waitForAborts(n: number, timeoutMs: number): Promise<void> {
    if (this.stats.aborted >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: AbortWaiter = {
        count: n,
        settle: (error) => {
          clearTimeout(timer);
          this.#abortWaiters.delete(waiter);
          if (error) reject(error);
          else resolve();
        },
      };
      const timer = setTimeout(() => {
        waiter.settle(new Error(`waited ${timeoutMs} ms for ${n} aborts; saw ${this.stats.aborted}`));
      }, timeoutMs);
      this.#abortWaiters.add(waiter);
    });
  }

  /** Clears queued faults, stats and received requests; restarts the seeded random. */
  reset(): void {
    this.#queue = [];
    Object.assign(this.stats, { requests: 0, completed: 0, aborted: 0, faulted: 0 });
    (this.received as ReceivedRequest[]).length = 0;
    this.#random = seededRandom(this.#behaviour.seed);
  }

  /** Stops listening and destroys every open socket, hanging and stalled ones included. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      for (const controller of this.#inFlight) controller.abort(new Error('fake upstream closed'));
      for (const waiter of this.#abortWaiters) waiter.settle(new Error('fake upstream closed'));
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closed;
  }

  #count(key: keyof FakeStats): void {
    (this.stats as FakeStats)[key] += 1;
    if (key !== 'aborted') return;
    for (const waiter of this.#abortWaiters) {
      if (this.stats.aborted >= waiter.count) waiter.settle();
    }
  }

  #takeFault(): Fault | undefined {
    const queued = this.#queue.shift();
    if (queued !== undefined) return queued;
    const { failureRate } = this.#behaviour;
    return failureRate > 0 && this.#random() < failureRate ? { kind: 'status', status: 500 } : undefined;
  }

  #record(entry: ReceivedRequest): void {
    const received = this.received as ReceivedRequest[];
    received.push(entry);
    if (received.length > MAX_RECEIVED) received.splice(0, received.length - MAX_RECEIVED);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = new AbortController();
    this.#inFlight.add(controller);
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const inference = this.#dialect.isInference(method, path);
    let endedByFake = false;
    if (inference) {
      this.#count('requests');
      res.once('finish', () => this.#count('completed'));
    }
    res.once('close', () => {
      this.#inFlight.delete(controller);
      controller.abort(new Error('exchange closed'));
      if (inference && !res.writableFinished && !endedByFake && this.#closed === undefined) this.#count('aborted');
    });
    const destroySocket = (reset: boolean): void => {
      endedByFake = true;
      if (reset) req.socket.resetAndDestroy();
      else req.socket.destroy();
    };
    try {
      await this.#serve(req, res, { method, path, inference, signal: controller.signal, destroySocket });
    } catch (error) {
      // The client left or the fake closed: there is no one to answer.
      if (controller.signal.aborted || req.socket.destroyed) return;
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.#dialect.errorBody(500, `fake upstream bug: ${String(error)}`)));
      } else destroySocket(false);
    }
  }

  async #serve(
    req: IncomingMessage,
    res: ServerResponse,
    exchange: Exchange,
  ): Promise<void> {
    const raw = await readBody(req);
    const { method, path } = exchange;
    const url = req.url ?? '/';
    const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
    const request: FakeRequest = { method, path, query, headers: req.headers, body: parseBody(raw ?? ''), ...(raw === undefined ? {} : { raw }) };
    this.#record({ method, path, query, headers: request.headers, body: request.body });
    const behaviour = this.#behaviour;
    const context: DialectContext = {
      fakeName: this.name,
      behaviour,
      models: this.#models,
      apiKey: this.#apiKey,
      sequence: ++this.#sequence,
      nowSeconds: Math.floor(Date.now() / 1000),
    };
    const fault = exchange.inference ? this.#takeFault() : undefined;
    if (fault !== undefined) this.#count('faulted');
    if (fault?.kind === 'reset-before-headers') return exchange.destroySocket(true);
    if (fault?.kind === 'hang') return; // close() or the client ends it
    await wait(behaviour.latencyMs + (fault?.kind === 'delay' ? fault.ms : 0), exchange.signal);
    const { answer, deliveryFault } = this.#plan(request, context, fault, raw === undefined);
    await deliver(res, answer, {
      common: this.#dialect.commonHeaders(context),
      fault: deliveryFault,
      timing: behaviour,
      control: {
        signal: exchange.signal,
        destroySocket: () => exchange.destroySocket(false),
        errorEvent: (message) => this.#dialect.errorEvent(message),
      },
    });
  }

  #plan(
    request: FakeRequest,
    context: DialectContext,
    fault: Fault | undefined,
    tooLarge: boolean,
  ): { answer: Answer; deliveryFault: DeliveryFault | undefined } {
    const dialect = this.#dialect;
    const errorAnswer = (status: number, message?: string): Answer => ({
      kind: 'json',
      status,
      body: dialect.errorBody(status, message),
      headers: dialect.errorHeaders?.(status) ?? {},
    });
    if (fault?.kind === 'status') {
      const body = fault.body === undefined ? dialect.errorBody(fault.status) : fault.body;
      const answer: Answer = { kind: 'json', status: fault.status, body, headers: { ...dialect.errorHeaders?.(fault.status), ...fault.headers } };
      return { answer, deliveryFault: undefined };
    }
    if (fault?.kind === 'replay') {
      const body = typeof fault.body === 'string' ? Buffer.from(fault.body, 'utf8') : fault.body;
      const answer: Answer = { kind: 'raw', status: fault.status ?? 200, contentType: fault.contentType, body, pieceBytes: fault.pieceBytes ?? body.length };
      return { answer, deliveryFault: undefined };
    }
    if (tooLarge) return { answer: errorAnswer(413, 'Request body too large.'), deliveryFault: undefined };
    const answer = dialect.answer(request, context);
    const kind = fault?.kind;
    const isDeliveryFault = kind === 'reset-mid-stream' || kind === 'stall' || kind === 'error-event' || kind === 'trickle';
    if (fault === undefined || !isDeliveryFault) return { answer, deliveryFault: undefined };
    // Whole-body answers have no in-band error; a 500 is the closest thing a client can see.
    if (fault.kind === 'error-event' && answer.kind !== 'stream') {
      return { answer: errorAnswer(500), deliveryFault: undefined };
    }
    return { answer, deliveryFault: fault };
  }
}
