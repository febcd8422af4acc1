import type { UsageRecord } from '../../api/chat-types.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { contentChunk, finishChunk, roleChunk, usageChunk } from '../chunks.js';
import { countedUsage } from '../estimated-usage.js';
import { parseStreamJson } from '../stream-json.js';
import { StreamedText } from '../streamed-text.js';
import { isRecord } from '../translate-helpers.js';
import type { ResponseContext, StreamStep, StreamTranslator } from '../types.js';
import { tritonErrorInfo } from './error.js';
import { textOutput } from './wire.js';

/** Triton streams end when the response ends (no [DONE]); each event's text_output is a delta. */
export class TritonStreamTranslator implements StreamTranslator {
  readonly #ctx: ResponseContext;
  readonly #text = new StreamedText();
  #started = false;
  #usage: { length: number; record: UsageRecord } | undefined;

  constructor(ctx: ResponseContext) {
    this.#ctx = ctx;
  }

  onEvent(event: SseEvent): StreamStep {
    const parsed = parseStreamJson(event.data);
    if (isRecord(parsed) && parsed.error !== undefined) {
      return { chunks: [], done: false, error: tritonErrorInfo(500, parsed) };
    }
    const delta = textOutput(parsed);
    this.#text.add(delta);
    if (!this.#started) {
      this.#started = true;
      return { chunks: [roleChunk(this.#ctx, delta)], done: false };
    }
    return { chunks: delta ? [contentChunk(this.#ctx, delta)] : [], done: false };
  }

  onEnd(): StreamStep {
    const chunks = this.#started ? [] : [roleChunk(this.#ctx, '')];
    chunks.push(finishChunk(this.#ctx, 'stop'));
    if (this.#ctx.includeUsage) chunks.push(usageChunk(this.#ctx, this.usage()));
    return { chunks, done: true };
  }

  usage(): UsageRecord {
    // Counting costs CPU; the pipeline asks again after onEnd, and the text no longer changes then.
    if (this.#usage?.length !== this.#text.length) this.#usage = { length: this.#text.length, record: countedUsage(this.#ctx, this.#text) };
    return this.#usage.record;
  }
}
