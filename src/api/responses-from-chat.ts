import { UpstreamProtocolError, type ResponseContext, type StreamStep, type StreamTranslator } from '../providers/types.js';
import type { SseEvent } from '../upstream/sse-event.js';
import type { ChatChunk, ChatCompletion, FinishReason, UsageRecord } from './chat-types.js';
import { responseIdFor } from './response-ids.js';
import type { ResponseItem, ResponseObject, ResponseStreamEvent, ResponseUsage, ResponsesApiRequest } from './responses-types.js';

/**
 * Our (chat-shaped) results → OpenAI's Responses API: the `Response` object and its event
 * stream, for `/v1/responses` served by a deployment that does not speak the Responses API.
 */

/** The part of the request the response object needs: the fields it repeats. */
export type ResponseEcho = Pick<ResponsesApiRequest, 'echo'>;

/** Our completion id without its `chatcmpl-` prefix: the stem of the item ids (as of `resp_` in response-ids.ts). */
function baseId(ctx: Pick<ResponseContext, 'id'>): string {
  return ctx.id.replace(/^chatcmpl-/, '');
}

/** The id of the n-th message item of a response. */
function messageItemId(ctx: ResponseContext, n: number): string {
  return n === 0 ? `msg_${baseId(ctx)}` : `msg_${baseId(ctx)}_${n}`;
}

function functionCallItemId(ctx: ResponseContext, callIndex: number): string {
  return `fc_${baseId(ctx)}_${callIndex}`;
}

/** Our usage record in the Responses shape (`input_tokens` includes cached ones, as in chat). */
export function responseUsage(u: UsageRecord): ResponseUsage {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedTokens, cache_write_tokens: u.cacheWriteTokens ?? 0 },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens },
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

/** `length` and `content_filter` end a response early: `incomplete`, saying why. */
function outcomeOf(finish: FinishReason | null | undefined): { status: 'completed' | 'incomplete'; incomplete_details: { reason: string } | null } {
  if (finish === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finish === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** The response object around `output`: the request's echoed fields, status and usage. */
function responseObject(
  ctx: ResponseContext,
  request: ResponseEcho,
  output: ResponseItem[],
  state: { status: ResponseObject['status']; incomplete_details: { reason: string } | null; usage: ResponseUsage | null },
): ResponseObject {
  return {
    id: responseIdFor(ctx),
    object: 'response',
    created_at: ctx.created,
    status: state.status,
    error: null,
    incomplete_details: state.incomplete_details,
    model: ctx.model,
    output,
    // The spec's usage is an object or absent (not null): a response in progress has none yet.
    ...(state.usage === null ? {} : { usage: state.usage }),
    ...request.echo,
  };
}

function textPart(text: string): Record<string, unknown> {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

/** A chat completion → a Response object (the first choice; Responses has no `n`). */
export function completionToResponse(completion: ChatCompletion, usage: UsageRecord, ctx: ResponseContext, request: ResponseEcho): ResponseObject {
  const choice = completion.choices[0];
  const outcome = outcomeOf(choice?.finish_reason);
  const output: ResponseItem[] = [];
  const content: Record<string, unknown>[] = [];
  const text = choice?.message.content;
  if (typeof text === 'string' && text !== '') content.push(textPart(text));
  const refusal = choice?.message.refusal;
  if (typeof refusal === 'string' && refusal !== '') content.push({ type: 'refusal', refusal });
  if (content.length > 0) {
    output.push({ type: 'message', id: messageItemId(ctx, 0), status: outcome.status, role: 'assistant', content });
  }
  (choice?.message.tool_calls ?? []).forEach((call, i) => {
    output.push({ type: 'function_call', id: functionCallItemId(ctx, i), call_id: call.id, name: call.function.name, arguments: call.function.arguments, status: 'completed' });
  });
  return responseObject(ctx, request, output, { ...outcome, usage: responseUsage(usage) });
}

/** A content part of the open message item: its kind, index and text so far. */
interface OpenPart {
  readonly kind: 'output_text' | 'refusal';
  readonly index: number;
  text: string;
}

interface MessageItem {
  readonly id: string;
  readonly outputIndex: number;
  readonly parts: Array<Record<string, unknown>>;
  part: OpenPart | undefined;
}

interface CallItem {
  readonly id: string;
  readonly outputIndex: number;
  readonly callId: string;
  readonly name: string;
  args: string;
}

/** Output items one streamed response may open: a hostile upstream cannot grow the response state without bound. */
export const maxStreamOutputItems = 1024;

/**
 * Characters of text and tool arguments one streamed response may carry. The translator keeps
 * them all (the `.done` events and `response.completed` repeat them), so this bounds its memory:
 * a 210 MB chat stream took the gateway's RSS from 150 MB to 1 GB and ended with no terminal
 * event. The same as the largest JSON answer an upstream may send (attempt.ts), so a response
 * too large to stream is one no JSON request could get either.
 */
export const maxStreamOutputChars = 32 * 1024 * 1024;

type Delta = ChatChunk['choices'][number]['delta'];
type ToolFragment = NonNullable<Delta['tool_calls']>[number];

/**
 * Wraps a chat stream translator and re-emits its chunks as Responses events:
 * `response.created` and `response.in_progress` with the first chunk; a message item with an
 * `output_text` part (and a `refusal` part when the model refuses) for text; one
 * `function_call` item per tool call, with its argument fragments as
 * `function_call_arguments.delta`; and, when the inner stream ends cleanly, the `.done` events
 * of every open item and `response.completed` (or `response.incomplete`) carrying the whole
 * response with its usage. Errors pass through untouched. Every event has its
 * `sequence_number`.
 *
 * Chat's parallel tool calls may interleave (fragments of call 0 after call 1 started); each
 * call is its own output item, so fragments name their item and stay in order. Call items stay
 * open until the end; a message item closes when a tool call starts (text after it opens a
 * new message item).
 */
export class ChatToResponsesStream implements StreamTranslator<ResponseStreamEvent> {
  readonly #inner: StreamTranslator<ChatChunk>;
  readonly #ctx: ResponseContext;
  readonly #request: ResponseEcho;
  #sequence = 0;
  #started = false;
  #finished = false;
  /** Every output item so far, in output_index order (closed ones as they were sent in `output_item.done`). */
  readonly #output: ResponseItem[] = [];
  #message: MessageItem | undefined;
  #messages = 0;
  /** Chat tool-call index → its item. */
  readonly #calls = new Map<number, CallItem>();
  #finish: FinishReason | undefined;
  #outputChars = 0;

  constructor(inner: StreamTranslator<ChatChunk>, ctx: ResponseContext, request: ResponseEcho) {
    this.#inner = inner;
    this.#ctx = ctx;
    this.#request = request;
  }

  onEvent(event: SseEvent): StreamStep<ResponseStreamEvent> {
    return this.#convert(this.#inner.onEvent(event));
  }

  onEnd(): StreamStep<ResponseStreamEvent> {
    return this.#convert(this.#inner.onEnd());
  }

  usage(): UsageRecord {
    return this.#inner.usage();
  }

  upstreamModel(): string | undefined {
    return this.#inner.upstreamModel?.();
  }

  #convert(step: StreamStep<ChatChunk>): StreamStep<ResponseStreamEvent> {
    const out: ResponseStreamEvent[] = [];
    for (const chunk of step.chunks) this.#chunk(chunk, out);
    if (step.error) return { chunks: out, done: false, error: step.error };
    if (step.done) this.#end(out);
    return { chunks: out, done: step.done };
  }

  #emit(out: ResponseStreamEvent[], event: Omit<ResponseStreamEvent, 'sequence_number'>): void {
    out.push({ ...event, sequence_number: this.#sequence++ } as ResponseStreamEvent);
  }

  #start(out: ResponseStreamEvent[]): void {
    if (this.#started) return;
    this.#started = true;
    const response = (): ResponseObject => responseObject(this.#ctx, this.#request, [], { status: 'in_progress', incomplete_details: null, usage: null });
    this.#emit(out, { type: 'response.created', response: response() });
    this.#emit(out, { type: 'response.in_progress', response: response() });
  }

  #chunk(chunk: ChatChunk, out: ResponseStreamEvent[]): void {
    this.#start(out);
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return;
    const d = choice.delta;
    if (typeof d.content === 'string' && d.content !== '') this.#text('output_text', d.content, out);
    if (typeof d.refusal === 'string' && d.refusal !== '') this.#text('refusal', d.refusal, out);
    for (const tc of d.tool_calls ?? []) this.#toolFragment(tc, out);
    if (choice.finish_reason) this.#finish = choice.finish_reason;
  }

  #text(kind: OpenPart['kind'], text: string, out: ResponseStreamEvent[]): void {
    const m = this.#message ?? this.#openMessage(out);
    if (m.part?.kind !== kind) {
      this.#closePart(m, out);
      const part: OpenPart = { kind, index: m.parts.length, text: '' };
      m.part = part;
      this.#emit(out, { type: 'response.content_part.added', item_id: m.id, output_index: m.outputIndex, content_index: part.index, part: this.#partObject(part) });
    }
    const part = m.part!;
    this.#keep(text);
    part.text += text;
    const type = kind === 'output_text' ? 'response.output_text.delta' : 'response.refusal.delta';
    const extra = kind === 'output_text' ? { logprobs: [] } : {};
    this.#emit(out, { type, item_id: m.id, output_index: m.outputIndex, content_index: part.index, delta: text, ...extra });
  }

  #partObject(part: OpenPart): Record<string, unknown> {
    return part.kind === 'output_text' ? textPart(part.text) : { type: 'refusal', refusal: part.text };
  }

  #openMessage(out: ResponseStreamEvent[]): MessageItem {
    this.#checkRoom();
    const m: MessageItem = { id: messageItemId(this.#ctx, this.#messages++), outputIndex: this.#output.length, parts: [], part: undefined };
    this.#message = m;
    const item: ResponseItem = { type: 'message', id: m.id, status: 'in_progress', role: 'assistant', content: [] };
    this.#output.push(item);
    this.#emit(out, { type: 'response.output_item.added', output_index: m.outputIndex, item });
    return m;
  }

  #keep(text: string): void {
    this.#outputChars += text.length;
    if (this.#outputChars > maxStreamOutputChars) throw new UpstreamProtocolError(`the stream's text and tool arguments exceed ${maxStreamOutputChars} characters`);
  }

  #checkRoom(): void {
    if (this.#output.length >= maxStreamOutputItems) throw new UpstreamProtocolError(`the stream opened more than ${maxStreamOutputItems} output items`);
  }

  #closePart(m: MessageItem, out: ResponseStreamEvent[]): void {
    const part = m.part;
    if (!part) return;
    m.part = undefined;
    const base = { item_id: m.id, output_index: m.outputIndex, content_index: part.index };
    if (part.kind === 'output_text') this.#emit(out, { type: 'response.output_text.done', ...base, text: part.text, logprobs: [] });
    else this.#emit(out, { type: 'response.refusal.done', ...base, refusal: part.text });
    const done = this.#partObject(part);
    m.parts.push(done);
    this.#emit(out, { type: 'response.content_part.done', ...base, part: done });
  }

  #closeMessage(status: 'completed' | 'incomplete', out: ResponseStreamEvent[]): void {
    const m = this.#message;
    if (!m) return;
    this.#message = undefined;
    this.#closePart(m, out);
    const item: ResponseItem = { type: 'message', id: m.id, status, role: 'assistant', content: m.parts };
    this.#output[m.outputIndex] = item;
    this.#emit(out, { type: 'response.output_item.done', output_index: m.outputIndex, item });
  }

  #toolFragment(tc: ToolFragment, out: ResponseStreamEvent[]): void {
    let call = this.#calls.get(tc.index);
    if (call === undefined) {
      // A tool call follows the text it explains: the message item is finished.
      this.#closeMessage('completed', out);
      this.#checkRoom();
      call = {
        id: functionCallItemId(this.#ctx, this.#calls.size),
        outputIndex: this.#output.length,
        callId: tc.id ?? `call_${baseId(this.#ctx)}_${tc.index}`,
        name: tc.function?.name ?? '',
        args: '',
      };
      this.#calls.set(tc.index, call);
      const item: ResponseItem = { type: 'function_call', id: call.id, call_id: call.callId, name: call.name, arguments: '', status: 'in_progress' };
      this.#output.push(item);
      this.#emit(out, { type: 'response.output_item.added', output_index: call.outputIndex, item });
    }
    const args = tc.function?.arguments;
    if (typeof args === 'string' && args !== '') {
      this.#keep(args);
      call.args += args;
      this.#emit(out, { type: 'response.function_call_arguments.delta', item_id: call.id, output_index: call.outputIndex, delta: args });
    }
  }

  #end(out: ResponseStreamEvent[]): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#start(out);
    const outcome = outcomeOf(this.#finish);
    this.#closeMessage(outcome.status, out);
    for (const call of [...this.#calls.values()].sort((a, b) => a.outputIndex - b.outputIndex)) {
      this.#emit(out, { type: 'response.function_call_arguments.done', item_id: call.id, output_index: call.outputIndex, name: call.name, arguments: call.args });
      const item: ResponseItem = { type: 'function_call', id: call.id, call_id: call.callId, name: call.name, arguments: call.args, status: 'completed' };
      this.#output[call.outputIndex] = item;
      this.#emit(out, { type: 'response.output_item.done', output_index: call.outputIndex, item });
    }
    const response = responseObject(this.#ctx, this.#request, [...this.#output], { ...outcome, usage: responseUsage(this.#inner.usage()) });
    this.#emit(out, { type: outcome.status === 'completed' ? 'response.completed' : 'response.incomplete', response });
  }
}
