import type { PayloadsConfig } from '../config/schema.js';
import type { RequestPayload } from '../observability/events.js';
import { isRecord } from '../is-record.js';

/**
 * Characters captured beyond `maxBytes`, so a secret that straddles the cap is still whole when
 * the team's redaction runs (the writer redacts, then cuts to `maxBytes`).
 */
export const REDACTION_MARGIN = 1_024;

/**
 * The prompt and completion of a request whose team stores them (`payloads.store`, opt-in): the
 * request body as received, and the JSON response, or for a stream the text it carried, joined
 * per choice (content, reasoning and tool-call arguments in the order they came) so that a secret
 * the model writes across many chunks is one string the redaction rules can match. Built only for
 * those teams, so every other request pays nothing. Each is kept to `maxBytes` plus a margin
 * here; redaction and the final cut are the request log writer's, off the request path.
 */
export class PayloadCapture {
  readonly #request: string;
  #response: string | undefined;
  /** Stream text per choice (OpenAI `choices[].index`, Anthropic content block `index`). */
  #texts: Map<number, string> | undefined;
  #textChars = 0;
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

  /** Chunks sent to a streaming client: their text is appended to its choice's, while it fits. */
  chunks(chunks: readonly unknown[]): void {
    this.#texts ??= new Map();
    for (const c of chunks) {
      for (const [index, text] of textsOf(c)) {
        if (this.#truncated) return;
        const room = this.policy.maxBytes + REDACTION_MARGIN - this.#textChars;
        const kept = text.length <= room ? text : text.slice(0, Math.max(0, room));
        if (kept.length < text.length) this.#truncated = true;
        this.#texts.set(index, (this.#texts.get(index) ?? '') + kept);
        this.#textChars += kept.length;
      }
    }
  }

  toPayload(): RequestPayload {
    const response = this.#texts ? JSON.stringify({ object: 'stream.text', choices: [...this.#texts].sort((a, b) => a[0] - b[0]).map(([index, text]) => ({ index, text })) }) : this.#response;
    return { request: this.#request, response, truncated: this.#truncated, policy: this.policy };
  }

  #cut(text: string): string {
    const keep = this.policy.maxBytes + REDACTION_MARGIN;
    if (text.length <= this.policy.maxBytes) return text;
    this.#truncated = true;
    return text.length <= keep ? text : text.slice(0, keep);
  }
}

/**
 * The text pieces one stream chunk carries, by choice: OpenAI chat (`delta.content`,
 * `delta.reasoning_content`, tool-call `function.arguments`), legacy completions (`text`), and
 * Anthropic's `content_block_delta` (`text`, `thinking`, `partial_json`). Anything else: none.
 */
function textsOf(chunk: unknown): Array<[number, string]> {
  if (!isRecord(chunk)) return [];
  const out: Array<[number, string]> = [];
  const add = (index: unknown, text: unknown): void => {
    if (typeof text === 'string' && text.length > 0) out.push([typeof index === 'number' && Number.isSafeInteger(index) ? index : 0, text]);
  };
  if (Array.isArray(chunk.choices)) {
    for (const choice of chunk.choices) {
      if (!isRecord(choice)) continue;
      add(choice.index, choice.text);
      const delta = choice.delta;
      if (!isRecord(delta)) continue;
      add(choice.index, delta.reasoning_content);
      add(choice.index, delta.content);
      if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) if (isRecord(call) && isRecord(call.function)) add(choice.index, call.function.arguments);
    }
  } else if (chunk.type === 'content_block_delta' && isRecord(chunk.delta)) {
    add(chunk.index, chunk.delta.text);
    add(chunk.index, chunk.delta.thinking);
    add(chunk.index, chunk.delta.partial_json);
  }
  return out;
}
