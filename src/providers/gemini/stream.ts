import type { ChatChunk, ChunkChoice, FinishReason, UsageRecord } from '../../api/chat-types.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { deltaChunk, usageChunk } from '../chunks.js';
import { estimatedUsage } from '../estimated-usage.js';
import { reportedModel } from '../reported-model.js';
import { isRecord } from '../translate-helpers.js';
import { parseStreamJson } from '../stream-json.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type StreamTranslator } from '../types.js';
import { geminiErrorInfo } from './error.js';
import { answerParts, asGeminiResponse, finishReason, toolCallOf, usageFromMetadata } from './response.js';
import type { GeminiUsageMetadata } from './wire.js';

/** Streamed text beyond this is not kept for estimates (Gemini reports usage anyway). */
const maxCountedChars = 1_000_000;

interface ChoiceState {
  toolCalls: number;
  finished: boolean;
}

/**
 * `streamGenerateContent?alt=sse`: every SSE event is a whole GenerateContentResponse carrying
 * the next parts of each candidate; `finishReason` comes on a candidate's last event and usage
 * (cumulative) on every event. There is no `[DONE]`: the body's end ends the stream, so an end
 * before every started candidate has finished is a truncation. Function calls arrive whole, so
 * each becomes one tool-call delta with its full arguments.
 */
export class GeminiStreamTranslator implements StreamTranslator {
  readonly #ctx: ResponseContext;
  readonly #choices = new Map<number, ChoiceState>();
  #usage: GeminiUsageMetadata | undefined;
  #text = '';
  #calls = 0;
  #blocked = false;
  #upstreamModel: string | undefined;

  constructor(ctx: ResponseContext) {
    this.#ctx = ctx;
  }

  onEvent(event: SseEvent): StreamStep {
    const parsed = parseStreamJson(event.data);
    if (isRecord(parsed) && parsed['error'] !== undefined) {
      const code = isRecord(parsed['error']) && typeof parsed['error']['code'] === 'number' ? parsed['error']['code'] : 500;
      return { chunks: [], done: false, error: geminiErrorInfo(code, parsed) };
    }
    const res = asGeminiResponse(parsed);
    if (res.usageMetadata !== undefined) this.#usage = res.usageMetadata;
    this.#upstreamModel ??= reportedModel(res.modelVersion);
    const chunks: ChatChunk[] = [];
    for (const [position, candidate] of (res.candidates ?? []).entries()) {
      const index = candidate.index ?? position;
      let state = this.#choices.get(index);
      const parts = answerParts(candidate);
      if (state === undefined) {
        state = { toolCalls: 0, finished: false };
        this.#choices.set(index, state);
        const first = parts[0];
        const leadingText = first !== undefined && first.functionCall === undefined && typeof first.text === 'string' ? first.text : undefined;
        if (leadingText !== undefined) parts.shift();
        chunks.push(this.#chunk(index, { role: 'assistant', content: leadingText ?? (first?.functionCall ? null : '') }, null));
        this.#count(leadingText);
      }
      for (const part of parts) {
        const call = toolCallOf(part, this.#ctx, this.#calls);
        if (call !== undefined) {
          this.#calls += 1;
          chunks.push(this.#chunk(index, { tool_calls: [{ index: state.toolCalls, ...call }] }, null));
          state.toolCalls += 1;
        } else if (typeof part.text === 'string' && part.text !== '') {
          chunks.push(this.#chunk(index, { content: part.text }, null));
          this.#count(part.text);
        }
      }
      if (candidate.finishReason !== undefined && !state.finished) {
        state.finished = true;
        chunks.push(this.#chunk(index, {}, finishReason(candidate.finishReason, state.toolCalls > 0)));
      }
    }
    if (res.candidates === undefined && res.promptFeedback?.blockReason !== undefined && this.#choices.size === 0) {
      // The prompt was blocked: no candidates will come.
      this.#blocked = true;
      chunks.push(this.#chunk(0, { role: 'assistant', content: null }, null), this.#chunk(0, {}, 'content_filter'));
    }
    return { chunks, done: false };
  }

  onEnd(): StreamStep {
    const finished = this.#blocked || (this.#choices.size > 0 && [...this.#choices.values()].every((c) => c.finished));
    if (!finished) throw new UpstreamProtocolError('Gemini stream ended before a finishReason');
    return { chunks: this.#ctx.includeUsage ? [usageChunk(this.#ctx, this.usage())] : [], done: true };
  }

  upstreamModel(): string | undefined {
    return this.#upstreamModel;
  }

  usage(): UsageRecord {
    return usageFromMetadata(this.#usage) ?? estimatedUsage(this.#ctx, this.#text);
  }

  #count(text: string | undefined): void {
    if (text !== undefined && this.#text.length < maxCountedChars) this.#text += text;
  }

  #chunk(index: number, delta: ChunkChoice['delta'], finish: FinishReason | null): ChatChunk {
    return deltaChunk(this.#ctx, delta, finish, index);
  }
}
