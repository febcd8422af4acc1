/**
 * Request/response over a message channel (cluster IPC between a worker and the primary).
 * Messages carry a tag so they never collide with other users of the channel (prom-client's
 * metric aggregation shares it). Values travel as JSON, as Node's default IPC does.
 *
 * Calls made in the same turn of the event loop travel together in one message, and so do
 * their answers: each IPC message costs a serialisation, a pipe write and a 'message' event on
 * both sides whatever its size, so one message per call made the primary the bottleneck
 * (bench/analysis.md, "Multi-core"). Under load many requests arrive per turn, so one message
 * carries many calls; an idle gateway still sends each call at once (the turn ends immediately).
 */

import { randomUUID } from 'node:crypto';

/** One side of a message channel: `process` in a worker, a `Worker` in the primary. */
export interface MessageChannel {
  send(message: unknown): void;
  onMessage(handler: (message: unknown) => void): () => void;
}

const TAG = 'llm-gateway:rpc';

interface RpcRequest {
  /** 0 for a notification: nothing is answered. */
  readonly id: number;
  readonly method: string;
  readonly params: unknown;
}

interface RpcResponse {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
}

/**
 * What travels: every call (or answer) of one event-loop turn. `client` names the RpcClient that
 * made the calls and is echoed on their answers: several clients may share one channel (a
 * worker's limiter and /metrics clients), and each numbers its calls from 1, so an answer is
 * only ever matched by the client it names.
 */
interface RpcBatch<T> {
  readonly tag: typeof TAG;
  readonly kind: 'calls' | 'answers';
  readonly client: string;
  readonly items: readonly T[];
}

/** Collects items during one turn of the event loop and sends them as one batch. */
class Outbox<T> {
  #items: T[] = [];
  #scheduled = false;

  constructor(
    private readonly kind: RpcBatch<T>['kind'],
    private readonly client: string,
    private readonly send: (batch: RpcBatch<T>) => void,
  ) {}

  push(item: T): void {
    this.#items.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#items.length === 0) return;
    const items = this.#items;
    this.#items = [];
    this.send({ tag: TAG, kind: this.kind, client: this.client, items });
  }
}

/** The primary stopped answering (or is gone): the call cannot be decided. */
export class RpcUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpcUnavailableError';
  }
}

/** Calls methods served on the other side; each call rejects after `timeoutMs`. */
export class RpcClient {
  readonly #channel: MessageChannel;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly #outbox: Outbox<RpcRequest>;
  readonly #name = randomUUID();
  #nextId = 1;

  constructor(channel: MessageChannel, timeoutMs: number) {
    this.#channel = channel;
    this.#timeoutMs = timeoutMs;
    this.#outbox = new Outbox('calls', this.#name, (batch) => this.#send(batch));
    channel.onMessage((message) => {
      if (!isBatch(message, 'answers') || message.client !== this.#name) return;
      for (const answer of message.items as RpcResponse[]) {
        const pending = this.#pending.get(answer.id);
        if (!pending) continue;
        this.#pending.delete(answer.id);
        clearTimeout(pending.timer);
        if (answer.error) pending.reject(rebuildError(answer.error));
        else pending.resolve(answer.result);
      }
    });
  }

  /** Resolves with the method's result; rejects with its error (RangeError/TypeError kept) or RpcUnavailableError. */
  call(method: string, params: unknown): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RpcUnavailableError(`no answer to ${method} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      timer.unref();
      this.#pending.set(id, { resolve, reject, timer });
      this.#outbox.push({ id, method, params });
    });
  }

  /** Sends a call nobody answers (its effect matters, not its result); delivered in order with calls. */
  notify(method: string, params: unknown): void {
    this.#outbox.push({ id: 0, method, params });
  }

  #send(batch: RpcBatch<RpcRequest>): void {
    try {
      this.#channel.send(batch);
    } catch (err) {
      for (const { id, method } of batch.items) {
        const pending = this.#pending.get(id);
        if (!pending) continue;
        this.#pending.delete(id);
        clearTimeout(pending.timer);
        pending.reject(new RpcUnavailableError(`cannot reach the primary to call ${method}: ${(err as Error).message}`));
      }
    }
  }
}

export type RpcHandlers = Readonly<Record<string, (params: unknown) => Promise<unknown>>>;

/**
 * Answers calls arriving on `channel`, in the order they arrive (handlers start in order; a
 * handler's synchronous part runs before the next one starts). Returns a function that stops
 * listening.
 */
export function serveRpc(channel: MessageChannel, handlers: RpcHandlers): () => void {
  // One outbox per calling client, so each batch of answers names the client it belongs to.
  const outboxes = new Map<string, Outbox<RpcResponse>>();
  const outboxFor = (client: string): Outbox<RpcResponse> => {
    let outbox = outboxes.get(client);
    if (!outbox) {
      outbox = new Outbox<RpcResponse>('answers', client, (batch) => {
        try {
          channel.send(batch);
        } catch {
          // The worker is gone; nobody is waiting for the answers.
        }
      });
      outboxes.set(client, outbox);
    }
    return outbox;
  };
  return channel.onMessage((message) => {
    if (!isBatch(message, 'calls')) return;
    const outbox = outboxFor(message.client);
    for (const call of message.items as RpcRequest[]) serveOne(call, handlers, (answer) => call.id !== 0 && outbox.push(answer));
  });
}

function serveOne(call: RpcRequest, handlers: RpcHandlers, answer: (a: RpcResponse) => void): void {
  const handler = Object.hasOwn(handlers, call.method) ? handlers[call.method] : undefined;
  if (!handler) {
    answer({ id: call.id, error: { name: 'Error', message: `unknown method ${call.method}` } });
    return;
  }
  handler(call.params).then(
    (result) => answer({ id: call.id, result }),
    (err: unknown) => answer({ id: call.id, error: { name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) } }),
  );
}

function isBatch(m: unknown, kind: RpcBatch<unknown>['kind']): m is RpcBatch<unknown> {
  const b = m as RpcBatch<unknown> | null;
  return typeof b === 'object' && b !== null && b.tag === TAG && b.kind === kind && typeof b.client === 'string' && Array.isArray(b.items);
}

function rebuildError(e: { name: string; message: string }): Error {
  const err = e.name === 'RangeError' ? new RangeError(e.message) : e.name === 'TypeError' ? new TypeError(e.message) : new Error(e.message);
  if (err.name !== e.name) err.name = e.name;
  return err;
}
