import type { Usage, UsageRecord } from '../../api/chat-types.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type StreamTranslator } from '../types.js';
import { isObject, openAiErrorInfo } from './error.js';
import { usageRecord } from './usage.js';

/** Streamed text beyond this is not kept for estimates (the provider's usage is preferred anyway). */
const maxCountedChars = 1_000_000;

/**
 * OpenAI-protocol stream pass-through, for chat chunks and legacy text-completion chunks alike:
 * rewrites `model` to the alias, records usage, drops the usage-only chunk the gateway asked for
 * when the client did not (S-17), and treats an end without `[DONE]` as a truncation.
 */
export class OpenAiStreamTranslator<C> implements StreamTranslator<C> {
  readonly #ctx: ResponseContext;
  #reported: Usage | undefined;
  #streamedText = '';
  #done = false;

  constructor(ctx: ResponseContext) {
    this.#ctx = ctx;
  }

  onEvent(event: SseEvent): StreamStep<C> {
    if (event.data === '[DONE]') {
      this.#done = true;
      return { chunks: [], done: true };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.data);
    } catch {
      throw new UpstreamProtocolError('stream event is not JSON');
    }
    if (!isObject(parsed)) throw new UpstreamProtocolError('stream event is not a JSON object');
    if (parsed.error !== undefined && parsed.error !== null) {
      return { chunks: [], done: false, error: openAiErrorInfo(500, parsed) };
    }
    const choices = parsed.choices;
    if (!Array.isArray(choices)) throw new UpstreamProtocolError('stream chunk without a choices array');
    parsed.model = this.#ctx.model;
    if (isObject(parsed.usage)) this.#reported = parsed.usage as Usage;
    if (!this.#reported) this.#countText(choices);
    if (!this.#ctx.includeUsage) {
      if (choices.length === 0 && parsed.usage) return { chunks: [], done: false };
      delete parsed.usage;
    }
    return { chunks: [parsed as C], done: false };
  }

  onEnd(): StreamStep<C> {
    if (!this.#done) throw new UpstreamProtocolError('upstream stream ended before [DONE]');
    return { chunks: [], done: true };
  }

  usage(): UsageRecord {
    // Only estimate from streamed text when the provider has not reported usage.
    return usageRecord(this.#reported, this.#ctx.promptTokensEstimate, this.#reported ? '' : this.#streamedText);
  }

  #countText(choices: unknown[]): void {
    for (const choice of choices) {
      if (!isObject(choice)) continue;
      const delta = isObject(choice.delta) ? choice.delta.content : choice.text;
      if (typeof delta === 'string' && this.#streamedText.length < maxCountedChars) this.#streamedText += delta;
    }
  }
}
