import type { UsageRecord } from '../../api/chat-types.js';
import { responseIdFor } from '../../api/response-ids.js';
import { maxStreamOutputItems } from '../../api/responses-from-chat.js';
import type { ResponseObject, ResponseStreamEvent, ResponseUsage } from '../../api/responses-types.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { countedUsage } from '../estimated-usage.js';
import { reportedModel } from '../reported-model.js';
import { parseStreamJson } from '../stream-json.js';
import { StreamedText } from '../streamed-text.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type StreamTranslator, type TargetInfo, type UpstreamCall, type UpstreamErrorInfo } from '../types.js';
import { isObject, openAiErrorInfo } from './error.js';

/**
 * `/v1/responses` served by a deployment that speaks OpenAI's Responses API itself (OpenAI,
 * Azure OpenAI, `responsesApi: true`): the client's validated body goes upstream with the
 * deployment's model and without server-side state (the gateway keeps the conversation), and
 * the answer comes back as received with our response id and the alias as `model`.
 */

/**
 * Where `/responses` lives. OpenAI, vLLM and Azure's `/openai/v1` surface: `{base}/responses`.
 * Azure's classic surface (a pinned api-version) has no deployment-scoped `/responses`: it is
 * `{base}/responses?api-version=…`, and `model` in the body names the deployment.
 */
export function responsesPath(target: TargetInfo, endpoint: 'responses' | 'responses/input_tokens' = 'responses'): string {
  const path = `${target.basePath}/${endpoint}`;
  return target.apiVersion === undefined ? path : `${path}?api-version=${encodeURIComponent(target.apiVersion)}`;
}

/**
 * A reasoning item the upstream could only resolve from its own store: with `store: false` it
 * keeps nothing, so an item without its `encrypted_content` would be answered 404.
 */
function unresolvable(item: unknown): boolean {
  return isObject(item) && item.type === 'reasoning' && (typeof item.encrypted_content !== 'string' || item.encrypted_content === '');
}

/**
 * An input item without its `id`, which only names an item in the upstream's own store: the
 * gateway gives ids to items that had none (for its store and input_items), and items of a
 * conversation begun on another provider carry ids this upstream never issued. Ids are optional
 * on input items. A reasoning item keeps its id beside its encrypted content, an
 * `item_reference` is nothing but its id.
 */
function withoutStateId(item: unknown): unknown {
  if (!isObject(item) || typeof item.id !== 'string' || item.type === 'reasoning' || item.type === 'item_reference') return item;
  const { id: _id, ...rest } = item;
  return rest;
}

/** The upstream call: the native body with the deployment's model, `store: false`, no `previous_response_id`. */
export function openAiResponsesRequest(native: Readonly<Record<string, unknown>>, target: TargetInfo, stream: boolean): UpstreamCall {
  const body: Record<string, unknown> = { ...native, model: target.upstreamModel, store: false, stream };
  // The gateway expanded the conversation already; the upstream never stored it.
  delete body.previous_response_id;
  if (Array.isArray(native.input)) body.input = native.input.filter((item) => !unresolvable(item)).map(withoutStateId);
  return {
    method: 'POST',
    path: responsesPath(target),
    headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' },
    body: JSON.stringify(body),
  };
}

/** A Responses `usage` object as our record; undefined when the upstream sent none usable. */
export function responsesUsageRecord(usage: unknown): UsageRecord | undefined {
  if (!isObject(usage) || typeof usage.input_tokens !== 'number') return undefined;
  const input = isObject(usage.input_tokens_details) ? usage.input_tokens_details : {};
  const output = isObject(usage.output_tokens_details) ? usage.output_tokens_details : {};
  const cacheWrite = typeof input.cache_write_tokens === 'number' && input.cache_write_tokens > 0 ? input.cache_write_tokens : 0;
  return {
    promptTokens: usage.input_tokens,
    completionTokens: typeof usage.output_tokens === 'number' ? usage.output_tokens : 0,
    cachedTokens: typeof input.cached_tokens === 'number' ? input.cached_tokens : 0,
    reasoningTokens: typeof output.reasoning_tokens === 'number' ? output.reasoning_tokens : 0,
    ...(cacheWrite > 0 ? { cacheWriteTokens: cacheWrite } : {}),
    estimated: false,
  };
}

/**
 * The usage a client sees: the upstream's (every field kept) with the cached, cache-write and
 * reasoning details always present (the spec requires them); without a usable one, our record (estimated) in the same shape.
 */
export function responsesUsage(usage: unknown, record: UsageRecord): ResponseUsage {
  const base = { input_tokens: record.promptTokens, output_tokens: record.completionTokens, total_tokens: record.promptTokens + record.completionTokens };
  if (!isObject(usage) || typeof usage.input_tokens !== 'number') {
    return { ...base, input_tokens_details: { cached_tokens: record.cachedTokens, cache_write_tokens: record.cacheWriteTokens ?? 0 }, output_tokens_details: { reasoning_tokens: record.reasoningTokens } };
  }
  const input = isObject(usage.input_tokens_details) ? usage.input_tokens_details : {};
  const output = isObject(usage.output_tokens_details) ? usage.output_tokens_details : {};
  // The cost fields are the gateway's (cost-reply.ts): an upstream's own would read as our price.
  const { cost_usd: _cost, cost_estimated: _estimated, ...upstream } = usage;
  return {
    ...upstream,
    ...base,
    total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : base.total_tokens,
    input_tokens_details: { ...input, cached_tokens: record.cachedTokens, cache_write_tokens: record.cacheWriteTokens ?? 0 },
    output_tokens_details: { ...output, reasoning_tokens: record.reasoningTokens },
  };
}

/** The generated text of output items (message text, function-call arguments), for estimates. */
function outputText(output: readonly unknown[]): string {
  let text = '';
  for (const item of output) {
    if (!isObject(item)) continue;
    if (typeof item.arguments === 'string') text += item.arguments;
    if (!Array.isArray(item.content)) continue;
    for (const part of item.content) if (isObject(part) && typeof part.text === 'string') text += part.text;
  }
  return text;
}

/**
 * Fields OpenAI sends as `null` that its own spec and SDK types declare optional but not
 * nullable (`usage?: ResponseUsage`, `user?: string`): `usage: null` in every in-progress
 * response, `user: null` always. A typed client that tests `usage !== undefined` would then read
 * `null.input_tokens`, and a client validating against the spec rejects the event; absent says
 * the same thing and is valid for both.
 */
const nullNotAllowed = ['usage', 'user'] as const;

/** The upstream's response object with our id and the alias, and without the nulls the spec refuses. */
export function clientResponse(response: Record<string, unknown>, id: string, model: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...response, id, model };
  for (const key of nullNotAllowed) if (out[key] === null) delete out[key];
  return out;
}

/** The upstream's response object, with our id and the alias as `model`. */
export function openAiResponsesResponse(body: unknown, ctx: ResponseContext): { value: ResponseObject; usage: UsageRecord; upstreamModel?: string | undefined } {
  if (!isObject(body) || body.object !== 'response' || !Array.isArray(body.output)) {
    throw new UpstreamProtocolError('Responses answer is not a response object with an output array');
  }
  const usage = responsesUsageRecord(body.usage) ?? countedUsage(ctx, outputText(body.output));
  const value = { ...clientResponse(body, responseIdFor(ctx), ctx.model), usage: responsesUsage(body.usage, usage) } as ResponseObject;
  return { value, usage, upstreamModel: reportedModel(body.model) };
}

/** HTTP statuses OpenAI gives the error codes a stream reports, so a failure before the commit point is classified like the plain error. */
const codeStatuses: Readonly<Record<string, number>> = {
  rate_limit_exceeded: 429,
  insufficient_quota: 429,
  server_error: 500,
  vector_store_timeout: 504,
  context_length_exceeded: 400,
  invalid_prompt: 400,
};

function statusForCode(code: unknown): number {
  if (typeof code !== 'string') return 500;
  const known = codeStatuses[code];
  if (known !== undefined) return known;
  // The remaining codes OpenAI documents for a failed response describe the request's input (invalid_image, image_too_large…).
  return /^(invalid_|image_|unsupported_|empty_|failed_to_download_)/.test(code) ? 400 : 500;
}

/** An `error` event: the spec's flat `{code, message, param}`, or the nested `{error:{…}}` OpenAI has been seen sending. */
function errorEventInfo(event: Record<string, unknown>): UpstreamErrorInfo {
  const inner = isObject(event.error) ? event.error : event;
  const status = statusForCode(inner.code ?? inner.type);
  return { ...openAiErrorInfo(status, inner), status };
}

/** A `response.failed` event: the error is the response's `error` (`{code, message}`). */
function failedInfo(response: Record<string, unknown> | undefined): UpstreamErrorInfo {
  const error = response !== undefined && isObject(response.error) ? response.error : { message: 'the upstream response failed without an error' };
  const status = statusForCode(error.code);
  return { ...openAiErrorInfo(status, error), status };
}

/** Events that only announce the response: held until the first other one (see NativeResponsesStream). */
const announcing: ReadonlySet<string> = new Set(['response.created', 'response.queued', 'response.in_progress']);
const terminal: ReadonlySet<string> = new Set(['response.completed', 'response.incomplete', 'response.failed']);
/** Announcements a real stream sends before its first item (two); more means the upstream is looping. */
const maxHeld = 8;

/**
 * Forwards Responses events as received, with our response id and the alias as `model` in
 * every event that carries the `response`. `response.created`/`in_progress` are held back until
 * the first other event, so an `error` right after them is still before the commit point and
 * the request can be retried or failed over (as NativeMessagesStream does with message_start).
 * `error` and `response.failed` end the stream as an error; usage comes from the terminal event.
 */
export class NativeResponsesStream implements StreamTranslator<ResponseStreamEvent> {
  readonly #ctx: ResponseContext;
  readonly #id: string;
  readonly #text = new StreamedText();
  #held: ResponseStreamEvent[] | undefined = [];
  #usage: UsageRecord | undefined;
  #upstreamModel: string | undefined;
  #done = false;
  /** Function names by item id, from output_item.added: OpenAI leaves `name` out of function_call_arguments.done. */
  readonly #callNames = new Map<string, string>();
  #sequence = 0;

  constructor(ctx: ResponseContext) {
    this.#ctx = ctx;
    this.#id = responseIdFor(ctx);
  }

  onEvent(event: SseEvent): StreamStep<ResponseStreamEvent> {
    // Whatever follows the terminal event is not part of the response.
    if (this.#done) return { chunks: [], done: true };
    const e = parseStreamJson(event.data, 'Responses stream event is not JSON');
    if (!isObject(e) || typeof e.type !== 'string') throw new UpstreamProtocolError('Responses stream event without a type');
    if (e.type === 'error') return { chunks: [], done: false, error: errorEventInfo(e) };
    let response: Record<string, unknown> | undefined;
    if (isObject(e.response)) {
      this.#upstreamModel ??= reportedModel(e.response.model);
      response = clientResponse(e.response, this.#id, this.#ctx.model);
      e.response = response;
    }
    if (typeof e.delta === 'string') this.#text.add(e.delta);
    this.#withCallName(e);
    if (terminal.has(e.type)) {
      this.#done = true;
      this.#usage = responsesUsageRecord(response?.usage);
      // A Responses stream always ends with its usage (and the request's cost rides in it), so
      // an upstream that sent none gets ours, estimated from what streamed.
      if (response !== undefined) response.usage = responsesUsage(response.usage, this.usage());
      if (e.type === 'response.failed') return { chunks: [], done: true, error: failedInfo(response) };
    }
    const ev = e as ResponseStreamEvent;
    if (this.#held !== undefined && announcing.has(e.type)) {
      if (this.#held.length >= maxHeld) throw new UpstreamProtocolError(`Responses stream sent more than ${maxHeld} ${e.type} events before any item`);
      this.#held.push(ev);
      return { chunks: [], done: false };
    }
    const chunks = this.#held !== undefined ? [...this.#held, ev] : [ev];
    this.#held = undefined;
    // Numbered by us as they go out (0, 1, 2…): an upstream's numbers may be missing, repeated or
    // out of order, and the gateway's own error event is numbered after the last one sent.
    for (const c of chunks) c.sequence_number = this.#sequence++;
    return { chunks, done: this.#done };
  }

  /**
   * `response.function_call_arguments.done` as the spec and the SDK types have it, with the
   * function's `name` (required there; OpenAI sends it without, so a client reading `event.name`
   * got undefined). The name is the one its `output_item.added` announced; at most
   * maxStreamOutputItems are remembered (a response has no more items than that).
   */
  #withCallName(e: Record<string, unknown>): void {
    if (e.type === 'response.output_item.added' && isObject(e.item) && e.item.type === 'function_call') {
      const { id, name } = e.item;
      if (typeof id === 'string' && typeof name === 'string' && this.#callNames.size < maxStreamOutputItems) this.#callNames.set(id, name);
      return;
    }
    if (e.type !== 'response.function_call_arguments.done' || typeof e.name === 'string' || typeof e.item_id !== 'string') return;
    const name = this.#callNames.get(e.item_id);
    if (name !== undefined) e.name = name;
  }

  onEnd(): StreamStep<ResponseStreamEvent> {
    if (!this.#done) throw new UpstreamProtocolError('Responses stream ended before response.completed, response.incomplete or response.failed');
    return { chunks: [], done: true };
  }

  usage(): UsageRecord {
    return this.#usage ?? countedUsage(this.#ctx, this.#text);
  }

  upstreamModel(): string | undefined {
    return this.#upstreamModel;
  }
}
