/**
 * Request/response over a message channel (cluster IPC between a worker and the primary).
 * Messages carry a tag so they never collide with other users of the channel (prom-client's
 * metric aggregation shares it). Values travel as JSON, as Node's default IPC does.
 */

/** One side of a message channel: `process` in a worker, a `Worker` in the primary. */
export interface MessageChannel {
  send(message: unknown): void;
  onMessage(handler: (message: unknown) => void): () => void;
}

const TAG = 'llm-gateway:rpc';

interface RpcRequest {
  readonly tag: typeof TAG;
  readonly id: number;
  readonly method: string;
  readonly params: unknown;
}

interface RpcResponse {
  readonly tag: typeof TAG;
  readonly id: number;
  readonly result?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
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
  #nextId = 1;

  constructor(channel: MessageChannel, timeoutMs: number) {
    this.#channel = channel;
    this.#timeoutMs = timeoutMs;
    channel.onMessage((message) => {
      if (!isResponse(message)) return;
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.error) pending.reject(rebuildError(message.error));
      else pending.resolve(message.result);
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
      try {
        this.#channel.send({ tag: TAG, id, method, params } satisfies RpcRequest);
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new RpcUnavailableError(`cannot reach the primary: ${(err as Error).message}`));
      }
    });
  }
}

export type RpcHandlers = Readonly<Record<string, (params: unknown) => Promise<unknown>>>;

/** Answers calls arriving on `channel`; returns a function that stops listening. */
export function serveRpc(channel: MessageChannel, handlers: RpcHandlers): () => void {
  return channel.onMessage((message) => {
    if (!isRequest(message)) return;
    const handler = Object.hasOwn(handlers, message.method) ? handlers[message.method] : undefined;
    const answer = (body: Omit<RpcResponse, 'tag' | 'id'>): void => {
      try {
        channel.send({ tag: TAG, id: message.id, ...body });
      } catch {
        // The worker is gone; nobody is waiting for the answer.
      }
    };
    if (!handler) {
      answer({ error: { name: 'Error', message: `unknown method ${message.method}` } });
      return;
    }
    handler(message.params).then(
      (result) => answer({ result }),
      (err: unknown) => answer({ error: { name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) } }),
    );
  });
}

function isRequest(m: unknown): m is RpcRequest {
  return typeof m === 'object' && m !== null && (m as RpcRequest).tag === TAG && typeof (m as RpcRequest).method === 'string';
}

function isResponse(m: unknown): m is RpcResponse {
  return typeof m === 'object' && m !== null && (m as RpcResponse).tag === TAG && !('method' in m);
}

function rebuildError(e: { name: string; message: string }): Error {
  const err = e.name === 'RangeError' ? new RangeError(e.message) : e.name === 'TypeError' ? new TypeError(e.message) : new Error(e.message);
  if (err.name !== e.name) err.name = e.name;
  return err;
}
