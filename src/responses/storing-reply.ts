import type { ResponseObject, ResponseStreamEvent } from '../api/responses-types.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { ChatReply, StreamWriter } from '../pipeline/reply.js';
import { ClientGoneError } from '../resilience/abort-reasons.js';

/** Keeps a finished response; resolves false (never throws) when it could not, in time. */
export type SaveResponse = (response: ResponseObject) => Promise<boolean>;

/** The events that end a Responses stream with a response worth continuing from. */
const terminalEvents: ReadonlySet<string> = new Set(['response.completed', 'response.incomplete']);

/** Header of a JSON answer whose response could not be stored (a stream learns it from nothing: docs/responses.md). */
export const notStoredHeader = 'x-gateway-response-stored';

/**
 * The pipeline's reply for a `store: true` request: the finished response is stored BEFORE the
 * client can see it, so a client that got an answer can continue from it (or GET it) at once,
 * from any replica. JSON: before the body is sent. Stream: before the terminal
 * `response.completed` / `response.incomplete` event is written. A save that fails or times out
 * does not cost the client its answer: it is sent anyway (`x-gateway-response-stored: false` on
 * JSON), the failure logged and counted by `save`.
 */
export class StoringReply implements ChatReply {
  constructor(
    private readonly reply: ChatReply,
    private readonly save: SaveResponse,
    /** Whether the client has hung up (its connection closed). */
    private readonly clientGone: () => boolean = () => false,
  ) {}

  async json(status: number, body: unknown, headers: Readonly<Record<string, string>>): Promise<void> {
    if (status === 200 && isResponseObject(body)) {
      if (!(await this.save(body))) headers = { ...headers, [notStoredHeader]: 'false' };
      // The save can take seconds: a client that left meanwhile gets nothing, and the pipeline
      // records a client_disconnect, as for a client gone before any other answer.
      if (this.clientGone()) throw new ClientGoneError();
    }
    await this.reply.json(status, body, headers);
  }

  error(err: GatewayError, headers: Readonly<Record<string, string>>): void {
    this.reply.error(err, headers);
  }

  openStream(headers: Readonly<Record<string, string>>): StreamWriter {
    return new StoringStreamWriter(this.reply.openStream(headers), this.save);
  }
}

class StoringStreamWriter implements StreamWriter {
  #saved = false;

  constructor(
    private readonly writer: StreamWriter,
    private readonly save: SaveResponse,
  ) {}

  async write(chunks: readonly unknown[]): Promise<void> {
    const at = this.#saved ? -1 : chunks.findIndex(isTerminal);
    if (at < 0) return this.writer.write(chunks);
    if (at > 0) await this.writer.write(chunks.slice(0, at));
    this.#saved = true;
    await this.save((chunks[at] as ResponseStreamEvent & { response: ResponseObject }).response);
    await this.writer.write(chunks.slice(at));
  }

  fail(err: GatewayError): void {
    this.writer.fail(err);
  }

  done(): void {
    this.writer.done();
  }
}

function isTerminal(chunk: unknown): boolean {
  const e = chunk as ResponseStreamEvent | null;
  return typeof e?.type === 'string' && terminalEvents.has(e.type) && isResponseObject(e.response);
}

function isResponseObject(body: unknown): body is ResponseObject {
  const b = body as ResponseObject | null;
  return typeof b === 'object' && b !== null && b.object === 'response' && typeof b.id === 'string' && Array.isArray(b.output);
}
