import type { UsageRecord } from '../../api/chat-types.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { toOpenAiUsage } from '../chunks.js';
import { reportedModel } from '../reported-model.js';
import { parseStreamJson } from '../stream-json.js';
import { StreamedText } from '../streamed-text.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type StreamTranslator } from '../types.js';
import { isObject, openAiErrorInfo } from './error.js';
import { normalisedUsage, usageRecord } from './response.js';

/**
 * OpenAI-protocol stream pass-through, for chat chunks and legacy text-completion chunks alike:
 * rewrites `model` to the alias, records usage and normalises it (cached and reasoning token
 * details always present), drops Azure's content-less prompt-filter chunk and the usage-only chunk the gateway asked for when the client did
 * not (S-17), adds an estimated usage chunk when the client asked for usage and the server sent
 * none, and treats an end without `[DONE]` as a truncation.
 */
export class OpenAiStreamTranslator<C> implements StreamTranslator<C> {
  readonly #ctx: ResponseContext;
  #reported: Record<string, unknown> | undefined;
  readonly #streamedText = new StreamedText();
  #done = false;
  #upstreamModel: string | undefined;
  /** id, object and created of the last chunk, for a usage chunk we have to add ourselves. */
  #last: { id: unknown; object: unknown; created: unknown } | undefined;

  constructor(ctx: ResponseContext) {
    this.#ctx = ctx;
  }

  onEvent(event: SseEvent): StreamStep<C> {
    if (event.data === '[DONE]') {
      this.#done = true;
      return { chunks: this.#missingUsageChunk(), done: true };
    }
    const parsed = parseStreamJson(event.data);
    if (!isObject(parsed)) throw new UpstreamProtocolError('stream event is not a JSON object');
    if (parsed.error !== undefined && parsed.error !== null) {
      return { chunks: [], done: false, error: openAiErrorInfo(500, parsed) };
    }
    const choices = parsed.choices;
    if (!Array.isArray(choices)) throw new UpstreamProtocolError('stream chunk without a choices array');
    // Azure opens with `choices: []` and only `prompt_filter_results` (empty id, object and
    // model): not an OpenAI chunk, and it carries no content (a filtered prompt is a 400 before
    // any stream), so clients that expect OpenAI's chunks never see it.
    if (choices.length === 0 && !isObject(parsed.usage)) return { chunks: [], done: false };
    // Clients see the alias they asked for; the upstream's own name is kept for the gateway.
    this.#upstreamModel ??= reportedModel(parsed.model);
    parsed.model = this.#ctx.model;
    this.#last = { id: parsed.id, object: parsed.object, created: parsed.created };
    if (isObject(parsed.usage)) this.#reported = parsed.usage;
    if (!this.#reported) this.#countText(choices);
    if (!this.#ctx.includeUsage) {
      if (choices.length === 0 && parsed.usage) return { chunks: [], done: false };
      delete parsed.usage;
    } else if (isObject(parsed.usage)) {
      parsed.usage = normalisedUsage(parsed.usage, usageRecord(parsed.usage, this.#ctx, ''));
    }
    return { chunks: [parsed as C], done: false };
  }

  onEnd(): StreamStep<C> {
    if (!this.#done) throw new UpstreamProtocolError('upstream stream ended before [DONE]');
    return { chunks: [], done: true };
  }

  usage(): UsageRecord {
    // Only estimate from streamed text when the provider has not reported usage.
    return usageRecord(this.#reported, this.#ctx, this.#reported ? '' : this.#streamedText);
  }

  upstreamModel(): string | undefined {
    return this.#upstreamModel;
  }

  /** A client that asked for usage always gets it, even from a server that ignored stream_options. */
  #missingUsageChunk(): C[] {
    if (!this.#ctx.includeUsage || this.#reported !== undefined || this.#last === undefined) return [];
    const { id, object, created } = this.#last;
    return [{ id, object, created, model: this.#ctx.model, choices: [], usage: toOpenAiUsage(this.usage()) } as C];
  }

  #countText(choices: unknown[]): void {
    for (const choice of choices) {
      if (!isObject(choice)) continue;
      const delta = isObject(choice.delta) ? choice.delta.content : choice.text;
      if (typeof delta === 'string') this.#streamedText.add(delta);
    }
  }
}
