import type { ChatCompletion, ChatChunk, ChatRequest, Usage, UsageRecord } from '../../api/chat-types.js';
import { estimateTextTokens } from '../../api/token-estimate.js';
import { scrubSecrets } from '../../errors/scrub.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { errorTypeForStatus } from '../chunks.js';
import {
  UpstreamProtocolError,
  type ProviderAdapter,
  type ResponseContext,
  type StreamStep,
  type StreamTranslator,
  type TargetInfo,
  type UpstreamCall,
  type UpstreamErrorInfo,
} from '../types.js';

/**
 * OpenAI's chat-completions protocol, spoken by OpenAI, vLLM, Azure's /openai/v1 surface and
 * most other servers. The client's body passes through with only `model` replaced; for streams
 * we always ask for usage so limits and metrics see real token counts.
 */
export const openAiAdapter: ProviderAdapter = {
  dialect: 'openai',

  chatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall {
    const body: Record<string, unknown> = { ...request.body, model: target.upstreamModel };
    if (request.stream) {
      const options = (request.body.stream_options ?? {}) as Record<string, unknown>;
      body.stream_options = { ...options, include_usage: true };
    }
    return {
      method: 'POST',
      path: `${target.basePath}/chat/completions`,
      headers: { 'content-type': 'application/json', accept: request.stream ? 'text/event-stream' : 'application/json' },
      body: JSON.stringify(body),
    };
  },

  chatResponse(body: unknown, ctx: ResponseContext) {
    if (!isObject(body) || !Array.isArray(body.choices)) {
      throw new UpstreamProtocolError('chat completion without a choices array');
    }
    const completion = { ...body, model: ctx.model } as ChatCompletion;
    let completionText = '';
    for (const choice of completion.choices) {
      const c = choice?.message?.content;
      if (typeof c === 'string') completionText += c;
    }
    return { completion, usage: usageRecord(completion.usage, ctx.promptTokensEstimate, completionText) };
  },

  chatStream(ctx: ResponseContext): StreamTranslator {
    return new OpenAiStreamTranslator(ctx);
  },

  errorInfo(status: number, body: unknown): UpstreamErrorInfo {
    return openAiErrorInfo(status, body);
  },
};

class OpenAiStreamTranslator implements StreamTranslator {
  readonly #ctx: ResponseContext;
  #reported: Usage | undefined;
  #streamedChars = 0;
  #streamedText = '';
  #done = false;

  constructor(ctx: ResponseContext) {
    this.#ctx = ctx;
  }

  onEvent(event: SseEvent): StreamStep {
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
    if (!Array.isArray(parsed.choices)) throw new UpstreamProtocolError('stream chunk without a choices array');
    const chunk = parsed as ChatChunk;
    chunk.model = this.#ctx.model;
    if (isObject(chunk.usage)) this.#reported = chunk.usage as Usage;
    this.#countText(chunk);
    if (!this.#ctx.includeUsage) {
      // We asked upstream for usage; a client that did not must not see the extra chunk (S-17).
      if (chunk.choices.length === 0 && chunk.usage) return { chunks: [], done: false };
      delete chunk.usage;
    }
    return { chunks: [chunk], done: false };
  }

  onEnd(): StreamStep {
    if (!this.#done) throw new UpstreamProtocolError('upstream stream ended before [DONE]');
    return { chunks: [], done: true };
  }

  usage(): UsageRecord {
    // Only estimate from streamed text when the provider has not reported usage.
    const text = this.#reported ? '' : this.#streamedText;
    return usageRecord(this.#reported, this.#ctx.promptTokensEstimate, text);
  }

  #countText(chunk: ChatChunk): void {
    if (this.#reported) return;
    for (const choice of chunk.choices) {
      const c = choice?.delta?.content;
      if (typeof c === 'string' && this.#streamedChars < 1_000_000) {
        this.#streamedChars += c.length;
        this.#streamedText += c;
      }
    }
  }
}

function usageRecord(usage: unknown, promptEstimate: number, completionText: string): UsageRecord {
  if (isObject(usage) && typeof usage.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number') {
    const promptDetails = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
    const completionDetails = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
    return {
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      cachedTokens: typeof promptDetails.cached_tokens === 'number' ? promptDetails.cached_tokens : 0,
      reasoningTokens: typeof completionDetails.reasoning_tokens === 'number' ? completionDetails.reasoning_tokens : 0,
      estimated: false,
    };
  }
  return { promptTokens: promptEstimate, completionTokens: estimateTextTokens(completionText), cachedTokens: 0, reasoningTokens: 0, estimated: true };
}

/**
 * Normalises OpenAI's `{"error":{...}}`, vLLM's integer `code`, the older flat
 * `{"object":"error","message"}` and bare strings into our error info (message scrubbed).
 */
export function openAiErrorInfo(status: number, body: unknown): UpstreamErrorInfo {
  const inner = isObject(body) && isObject(body.error) ? body.error : isObject(body) ? body : undefined;
  const rawMessage =
    inner && typeof inner.message === 'string'
      ? inner.message
      : typeof body === 'string' && body.length > 0
        ? body
        : isObject(body) && typeof body.error === 'string'
          ? body.error
          : `upstream answered ${status}`;
  const code = inner && (typeof inner.code === 'string' || typeof inner.code === 'number') ? String(inner.code) : null;
  const param = inner && typeof inner.param === 'string' ? inner.param : null;
  return { message: scrubSecrets(rawMessage), type: errorTypeForStatus(status), code, param };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
