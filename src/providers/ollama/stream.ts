import type { ChatChunk, UsageRecord } from '../../api/chat-types.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { contentChunk, deltaChunk, finishChunk, roleChunk, usageChunk } from '../chunks.js';
import { estimatedUsage } from '../estimated-usage.js';
import { isRecord } from '../translate-helpers.js';
import { parseStreamJson } from '../stream-json.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type StreamTranslator } from '../types.js';
import { ollamaErrorInfo } from './error.js';
import { asOllamaResponse, finishReason, toolCalls, usageOf } from './response.js';

const maxCountedChars = 1_000_000;

/**
 * `/api/chat` NDJSON: each line carries the next `message.content` fragment (tool calls arrive
 * whole, with object arguments and no ids); the last line has `done:true`, `done_reason` and the
 * counts. A failure after the 200 arrives as a `{"error":"…"}` line. An end without `done:true`
 * is a truncation.
 */
export class OllamaStreamTranslator implements StreamTranslator {
  readonly #ctx: ResponseContext;
  #started = false;
  #text = '';
  #toolCalls = 0;
  #usage: UsageRecord | undefined;

  constructor(ctx: ResponseContext) {
    this.#ctx = ctx;
  }

  onEvent(event: SseEvent): StreamStep {
    const parsed = parseStreamJson(event.data, 'NDJSON line is not JSON');
    if (isRecord(parsed) && parsed['error'] !== undefined) return { chunks: [], done: false, error: ollamaErrorInfo(500, parsed) };
    const res = asOllamaResponse(parsed);
    const ctx = this.#ctx;
    const text = typeof res.message?.content === 'string' ? res.message.content : '';
    const calls = toolCalls(res.message?.tool_calls, ctx, this.#toolCalls);
    const chunks: ChatChunk[] = [];
    if (!this.#started) {
      this.#started = true;
      // OpenAI's first chunk of a reply that only calls tools carries content null.
      chunks.push(calls.length > 0 && text === '' ? deltaChunk(ctx, { role: 'assistant', content: null }) : roleChunk(ctx, text));
    } else if (text !== '') {
      chunks.push(contentChunk(ctx, text));
    }
    if (this.#text.length < maxCountedChars) this.#text += text;
    for (const call of calls) {
      chunks.push(deltaChunk(ctx, { tool_calls: [{ index: this.#toolCalls, ...call }] }));
      this.#toolCalls += 1;
    }
    if (!res.done) return { chunks, done: false };
    this.#usage = usageOf(res, ctx, this.#text);
    chunks.push(finishChunk(ctx, finishReason(res.done_reason, this.#toolCalls > 0)));
    if (ctx.includeUsage) chunks.push(usageChunk(ctx, this.#usage));
    return { chunks, done: true };
  }

  onEnd(): StreamStep {
    throw new UpstreamProtocolError('Ollama stream ended before its done:true line');
  }

  usage(): UsageRecord {
    return this.#usage ?? estimatedUsage(this.#ctx, this.#text);
  }
}
