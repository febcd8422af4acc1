import type { ChatChunk, FinishReason, UsageRecord } from '../../api/chat-types.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { contentChunk, deltaChunk, finishChunk, roleChunk, usageChunk } from '../chunks.js';
import { estimatedUsage } from '../estimated-usage.js';
import { reportedModel } from '../reported-model.js';
import { parseStreamJson } from '../stream-json.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type StreamTranslator } from '../types.js';
import { anthropicErrorInfo } from './error.js';
import { anthropicUsageRecord, finishReasonFor } from './response.js';
import { isObject } from './wire.js';

const maxCountedChars = 1_000_000;
const none: StreamStep = { chunks: [], done: false };

/** Parses one Anthropic SSE event; its `type` is the JSON `type` (which repeats the `event:` name). */
export function parseAnthropicEvent(event: SseEvent): Record<string, unknown> & { type: string } {
  const parsed = parseStreamJson(event.data);
  if (!isObject(parsed)) throw new UpstreamProtocolError('stream event is not a JSON object');
  const type = typeof parsed.type === 'string' ? parsed.type : event.event;
  if (type === undefined) throw new UpstreamProtocolError('stream event without a type');
  // The object is fresh from JSON.parse and ours alone, so it is completed in place rather than
  // copied once per event; key order (and so the passed-through JSON) is as a copy would have it.
  parsed.type = type;
  return parsed as Record<string, unknown> & { type: string };
}

/**
 * Anthropic stream events → OpenAI chunks (protocols.md §2.8). Tool-use blocks get OpenAI
 * tool-call indexes 0, 1, … in the order they start, whatever their block index; their
 * `input_json_delta` fragments become `arguments` fragments. The role chunk is held back until
 * the first content, so an `error` right after `message_start` is still before the commit point
 * and can be retried (F-14). Usage in `message_delta` is cumulative and overrides `message_start`.
 */
export class AnthropicStreamTranslator implements StreamTranslator {
  readonly #ctx: ResponseContext;
  readonly #toolIndex = new Map<number, number>();
  /** OpenAI indexes of tool calls that have received argument text. */
  readonly #toolArgs = new Set<number>();
  #usage: Record<string, unknown> | undefined;
  #roleSent = false;
  #finish: FinishReason | undefined;
  #done = false;
  #text = '';
  #upstreamModel: string | undefined;

  constructor(ctx: ResponseContext) {
    this.#ctx = ctx;
  }

  onEvent(event: SseEvent): StreamStep {
    const e = parseAnthropicEvent(event);
    switch (e.type) {
      case 'message_start':
        if (isObject(e.message) && isObject(e.message.usage)) this.#usage = { ...e.message.usage };
        if (isObject(e.message)) this.#upstreamModel = reportedModel(e.message.model);
        return none;
      case 'content_block_start':
        return this.#blockStart(e);
      case 'content_block_delta':
        return this.#blockDelta(e);
      case 'content_block_stop':
        return this.#blockStop(e);
      case 'message_delta':
        if (isObject(e.usage)) this.#usage = { ...this.#usage, ...definedOnly(e.usage) };
        this.#finish = finishReasonFor(isObject(e.delta) ? e.delta.stop_reason : undefined);
        return { chunks: [...this.#role(), finishChunk(this.#ctx, this.#finish)], done: false };
      case 'message_stop':
        this.#done = true;
        return { chunks: this.#ctx.includeUsage ? [...this.#role(), usageChunk(this.#ctx, this.usage())] : this.#role(), done: true };
      case 'error':
        return { chunks: [], done: false, error: anthropicErrorInfo(500, e) };
      default:
        // ping, and event types added after this was written.
        return none;
    }
  }

  onEnd(): StreamStep {
    if (!this.#done) throw new UpstreamProtocolError('Anthropic stream ended before message_stop');
    return { chunks: [], done: true };
  }

  upstreamModel(): string | undefined {
    return this.#upstreamModel;
  }

  usage(): UsageRecord {
    if (this.#usage) return anthropicUsageRecord(this.#usage);
    return estimatedUsage(this.#ctx, this.#text);
  }

  #role(): ChatChunk[] {
    if (this.#roleSent) return [];
    this.#roleSent = true;
    return [roleChunk(this.#ctx, '')];
  }

  #blockStart(e: Record<string, unknown>): StreamStep {
    const block = e.content_block;
    const index = typeof e.index === 'number' ? e.index : -1;
    if (!isObject(block)) throw new UpstreamProtocolError('content_block_start without a content_block');
    if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') return this.#content(block.text);
    if (block.type !== 'tool_use') return none;
    if (typeof block.id !== 'string' || typeof block.name !== 'string') throw new UpstreamProtocolError('tool_use block without id or name');
    const k = this.#toolIndex.size;
    this.#toolIndex.set(index, k);
    // Streams start tool blocks with `input: {}` and send the arguments as deltas; a block that
    // arrives with its input already filled in is sent whole.
    const input = isObject(block.input) && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : '';
    if (input !== '') this.#toolArgs.add(k);
    return { chunks: [...this.#role(), this.#toolChunk({ index: k, id: block.id, type: 'function', function: { name: block.name, arguments: input } })], done: false };
  }

  #blockDelta(e: Record<string, unknown>): StreamStep {
    const delta = e.delta;
    if (!isObject(delta)) throw new UpstreamProtocolError('content_block_delta without a delta');
    if (delta.type === 'text_delta' && typeof delta.text === 'string') return delta.text === '' ? none : this.#content(delta.text);
    if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
      const k = this.#toolIndex.get(typeof e.index === 'number' ? e.index : -1);
      if (k === undefined) throw new UpstreamProtocolError('input_json_delta for a block that is not a tool_use');
      if (delta.partial_json === '') return none;
      this.#toolArgs.add(k);
      return { chunks: [this.#toolChunk({ index: k, function: { arguments: delta.partial_json } })], done: false };
    }
    if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string' && delta.thinking !== '') {
      return { chunks: [...this.#role(), this.#chunk({ reasoning_content: delta.thinking })], done: false };
    }
    // signature_delta, citations_delta and future delta types have no OpenAI equivalent.
    return none;
  }

  /**
   * A tool called without arguments streams only `""`; OpenAI sends `{}` then, and clients
   * JSON.parse the arguments, so `{}` is sent when the block ends without any.
   */
  #blockStop(e: Record<string, unknown>): StreamStep {
    const k = this.#toolIndex.get(typeof e.index === 'number' ? e.index : -1);
    if (k === undefined || this.#toolArgs.has(k)) return none;
    this.#toolArgs.add(k);
    return { chunks: [this.#toolChunk({ index: k, function: { arguments: '{}' } })], done: false };
  }

  #content(text: string): StreamStep {
    if (this.#text.length < maxCountedChars) this.#text += text;
    return { chunks: [...this.#role(), contentChunk(this.#ctx, text)], done: false };
  }

  #toolChunk(call: NonNullable<ChatChunk['choices'][number]['delta']['tool_calls']>[number]): ChatChunk {
    return this.#chunk({ tool_calls: [call] });
  }

  #chunk(delta: ChatChunk['choices'][number]['delta']): ChatChunk {
    return deltaChunk(this.#ctx, delta);
  }
}

/** Usage fields that are present and not null (message_delta omits or nulls what does not apply). */
function definedOnly(usage: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(usage).filter(([, v]) => v !== null && v !== undefined));
}
