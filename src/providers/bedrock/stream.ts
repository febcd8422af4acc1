import type { ChatChunk, ChunkChoice, UsageRecord } from '../../api/chat-types.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { deltaChunk, finishChunk, roleChunk, usageChunk } from '../chunks.js';
import { estimatedUsage } from '../estimated-usage.js';
import { parseStreamJson } from '../stream-json.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type StreamTranslator } from '../types.js';
import { bedrockStreamError, isObject } from './error.js';
import { finishReasonFor, usageFrom } from './response.js';

/** Streamed text beyond this is not kept for estimates (Bedrock's own usage is preferred anyway). */
const maxCountedChars = 1_000_000;

/**
 * ConverseStream events (decoded from the binary event stream: `event` is the `:event-type`, or
 * `exception:<type>`) → OpenAI chunks. Bedrock sends `metadata` (the usage) *after*
 * `messageStop` (recorded streams also show it before), so the stream is complete only once
 * both have arrived: the finish chunk goes out at `messageStop`, the usage chunk and the end
 * when both are in. A body that ends after `messageStop` without `metadata` is still complete
 * (usage is then estimated); one that ends before `messageStop` was cut.
 */
export class BedrockStreamTranslator implements StreamTranslator {
  readonly #ctx: ResponseContext;
  /** contentBlockIndex → OpenAI tool_calls index. */
  readonly #toolIndex = new Map<number, number>();
  /** Tool calls (OpenAI index) that have received argument text. */
  readonly #toolHasInput = new Set<number>();
  #started = false;
  #stopped = false;
  #reported: UsageRecord | undefined;
  #metadataSeen = false;
  #streamedText = '';

  constructor(ctx: ResponseContext) {
    this.#ctx = ctx;
  }

  onEvent(event: SseEvent): StreamStep {
    const name = event.event ?? '';
    if (name.startsWith('exception:')) {
      return { chunks: [], done: false, error: bedrockStreamError(name.slice('exception:'.length), event.data) };
    }
    const payload = parseStreamJson(event.data, `ConverseStream ${name || 'event'} payload is not JSON`);
    if (!isObject(payload)) throw new UpstreamProtocolError(`ConverseStream ${name || 'event'} payload is not an object`);
    switch (name) {
      case 'messageStart':
        // The role chunk waits for the first content: until a chunk reaches the client the
        // stream is not committed, so an exception right after messageStart can still be retried.
        return { chunks: [], done: false };
      case 'contentBlockStart':
        return this.#step(this.#blockStart(payload));
      case 'contentBlockDelta':
        return this.#step(this.#blockDelta(payload));
      case 'contentBlockStop':
        return this.#step(this.#blockStop(payload));
      case 'messageStop':
        return this.#messageStop(payload);
      case 'metadata':
        return this.#metadata(payload);
      default:
        // Events added to the protocol later: nothing to send.
        return { chunks: [], done: false };
    }
  }

  onEnd(): StreamStep {
    if (!this.#stopped) throw new UpstreamProtocolError('ConverseStream ended before messageStop');
    return { chunks: this.#ctx.includeUsage ? [usageChunk(this.#ctx, this.usage())] : [], done: true };
  }

  usage(): UsageRecord {
    return this.#reported ?? estimatedUsage(this.#ctx, this.#streamedText);
  }

  #step(chunks: ChatChunk[]): StreamStep {
    return { chunks, done: false };
  }

  /** The role chunk, once, before the first content (or the finish, for an empty answer). */
  #start(): ChatChunk[] {
    if (this.#started) return [];
    this.#started = true;
    return [roleChunk(this.#ctx, '')];
  }

  #blockStart(payload: Record<string, unknown>): ChatChunk[] {
    const start = isObject(payload.start) ? payload.start : undefined;
    const use = start && isObject(start.toolUse) ? start.toolUse : undefined;
    if (!use) return []; // a text or reasoning block: its deltas speak for it
    const block = blockIndex(payload);
    if (typeof use.toolUseId !== 'string' || typeof use.name !== 'string') throw new UpstreamProtocolError('contentBlockStart toolUse without toolUseId and name');
    const index = this.#toolIndex.size;
    this.#toolIndex.set(block, index);
    return [...this.#start(), this.#chunk({ tool_calls: [{ index, id: use.toolUseId, type: 'function', function: { name: use.name, arguments: '' } }] })];
  }

  #blockDelta(payload: Record<string, unknown>): ChatChunk[] {
    const block = blockIndex(payload);
    const delta = isObject(payload.delta) ? payload.delta : undefined;
    if (!delta) throw new UpstreamProtocolError('contentBlockDelta without a delta');
    if (typeof delta.text === 'string') {
      this.#count(delta.text);
      return delta.text === '' ? [] : [...this.#start(), this.#chunk({ content: delta.text })];
    }
    if (isObject(delta.toolUse)) {
      const index = this.#toolIndex.get(block);
      if (index === undefined) throw new UpstreamProtocolError(`toolUse delta for content block ${block}, which did not start as a tool use`);
      const input = delta.toolUse.input;
      if (typeof input !== 'string') throw new UpstreamProtocolError('toolUse delta input is not a string');
      this.#count(input);
      if (input === '') return [];
      this.#toolHasInput.add(index);
      return [this.#chunk({ tool_calls: [{ index, function: { arguments: input } }] })];
    }
    if (isObject(delta.reasoningContent)) {
      // Signatures and redacted reasoning are opaque to OpenAI clients; only the text is shown.
      const text = delta.reasoningContent.text;
      if (typeof text !== 'string' || text === '') return [];
      this.#count(text);
      return [...this.#start(), this.#chunk({ reasoning_content: text })];
    }
    return [];
  }

  /**
   * A tool that takes no arguments streams no input (or only ""); OpenAI clients JSON-parse the
   * arguments, so the call gets "{}" as the non-streamed response does.
   */
  #blockStop(payload: Record<string, unknown>): ChatChunk[] {
    const index = this.#toolIndex.get(blockIndex(payload));
    if (index === undefined || this.#toolHasInput.has(index)) return [];
    this.#toolHasInput.add(index);
    return [this.#chunk({ tool_calls: [{ index, function: { arguments: '{}' } }] })];
  }

  #messageStop(payload: Record<string, unknown>): StreamStep {
    if (this.#stopped) return { chunks: [], done: false };
    this.#stopped = true;
    const chunks = [...this.#start(), finishChunk(this.#ctx, finishReasonFor(payload.stopReason))];
    return this.#metadataSeen ? this.#finish(chunks) : { chunks, done: false };
  }

  #metadata(payload: Record<string, unknown>): StreamStep {
    this.#metadataSeen = true;
    this.#reported = usageFrom(payload.usage) ?? this.#reported;
    return this.#stopped ? this.#finish([]) : { chunks: [], done: false };
  }

  #finish(chunks: ChatChunk[]): StreamStep {
    if (this.#ctx.includeUsage) chunks.push(usageChunk(this.#ctx, this.usage()));
    return { chunks, done: true };
  }

  #chunk(delta: ChunkChoice['delta']): ChatChunk {
    return deltaChunk(this.#ctx, delta);
  }

  #count(text: string): void {
    if (this.#streamedText.length < maxCountedChars) this.#streamedText += text;
  }
}

function blockIndex(payload: Record<string, unknown>): number {
  const i = payload.contentBlockIndex;
  if (typeof i !== 'number' || !Number.isInteger(i) || i < 0) throw new UpstreamProtocolError('ConverseStream event without a contentBlockIndex');
  return i;
}
