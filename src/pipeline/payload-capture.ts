import type { PayloadsConfig } from '../config/schema.js';
import type { RequestPayload } from '../observability/events.js';

/**
 * The prompt and completion of a request whose team stores them (`payloads.store`, opt-in),
 * each cut to `maxBytes`: the request body as received, and the JSON response or the stream's
 * chunks (a JSON array, chunk by chunk until the cap). Built only for those teams, so every
 * other request pays nothing. Redaction is the request log writer's, off the request path.
 */
export class PayloadCapture {
  readonly #request: string;
  #response: string | undefined;
  #chunks: string[] | undefined;
  #chunkChars = 0;
  #truncated = false;

  constructor(
    private readonly policy: PayloadsConfig,
    body: unknown,
  ) {
    this.#request = this.#cut(JSON.stringify(body) ?? '');
  }

  /** The JSON answer of a non-streamed request. */
  response(body: unknown): void {
    this.#response = this.#cut(JSON.stringify(body) ?? '');
  }

  /** Chunks sent to a streaming client, kept while they fit. */
  chunks(chunks: readonly unknown[]): void {
    this.#chunks ??= [];
    for (const c of chunks) {
      if (this.#truncated) return;
      const text = JSON.stringify(c) ?? 'null';
      // Room for the brackets and commas of the array.
      if (this.#chunkChars + text.length + 2 > this.policy.maxBytes) {
        this.#truncated = true;
        return;
      }
      this.#chunks.push(text);
      this.#chunkChars += text.length + 1;
    }
  }

  toPayload(): RequestPayload {
    const response = this.#chunks ? `[${this.#chunks.join(',')}]` : this.#response;
    return { request: this.#request, response, truncated: this.#truncated, policy: this.policy };
  }

  #cut(text: string): string {
    if (text.length <= this.policy.maxBytes) return text;
    this.#truncated = true;
    return text.slice(0, this.policy.maxBytes);
  }
}
