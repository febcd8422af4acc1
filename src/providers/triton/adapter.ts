import type { ChatCompletion, ChatRequest, UsageRecord } from '../../api/chat-types.js';
import { scrubSecrets } from '../../errors/scrub.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { countedUsage } from '../estimated-usage.js';
import { contentChunk, errorTypeForStatus, finishChunk, roleChunk, toOpenAiUsage, usageChunk } from '../chunks.js';
import { parseStreamJson } from '../stream-json.js';
import { StreamedText } from '../streamed-text.js';
import { isRecord } from '../translate-helpers.js';
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
import { tritonParameters } from './parameters.js';
import { renderPrompt } from './prompt.js';

/**
 * OpenAI request fields with a direct TensorRT-LLM / Triton generate equivalent (same names).
 * `top_k` is not OpenAI's, but vLLM clients and Anthropic's `/v1/messages` send it.
 */
const passedThrough = ['temperature', 'top_p', 'top_k', 'presence_penalty', 'frequency_penalty', 'seed'] as const;

/**
 * NVIDIA Triton's generate / generate_stream extension (TensorRT-LLM ensembles and BLS models).
 * The protocol carries text only and reports no usage, so usage is estimated and marked so.
 */
export const tritonAdapter: ProviderAdapter = {
  dialect: 'triton',
  streamFraming: 'sse',
  chatParameters: tritonParameters,

  chatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall {
    const b = request.body;
    const body: Record<string, unknown> = { text_input: renderPrompt(request.messages) };
    if (request.maxOutputTokens !== undefined) body.max_tokens = request.maxOutputTokens;
    for (const field of passedThrough) if (typeof b[field] === 'number') body[field] = b[field];
    if (b.stop !== undefined && b.stop !== null) body.stop_words = typeof b.stop === 'string' ? [b.stop] : b.stop;
    if (request.stream) body.stream = true;
    const model = encodeURIComponent(target.upstreamModel);
    return {
      method: 'POST',
      path: `${target.basePath}/v2/models/${model}/${request.stream ? 'generate_stream' : 'generate'}`,
      headers: { 'content-type': 'application/json', accept: request.stream ? 'text/event-stream' : 'application/json' },
      body: JSON.stringify(body),
    };
  },

  chatResponse(body: unknown, ctx: ResponseContext) {
    const text = textOutput(body);
    const usage = countedUsage(ctx, text);
    const completion: ChatCompletion = {
      id: ctx.id,
      object: 'chat.completion',
      created: ctx.created,
      model: ctx.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: toOpenAiUsage(usage),
    };
    return { completion, usage };
  },

  chatStream(ctx: ResponseContext): StreamTranslator {
    return new TritonStreamTranslator(ctx);
  },

  errorInfo(status: number, body: unknown): UpstreamErrorInfo {
    const raw = isRecord(body) && typeof body.error === 'string' ? body.error : typeof body === 'string' && body ? body : `upstream answered ${status}`;
    return { message: scrubSecrets(raw), type: errorTypeForStatus(status), code: null, param: null };
  },
};

/** Triton streams end when the response ends (no [DONE]); each event's text_output is a delta. */
class TritonStreamTranslator implements StreamTranslator {
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
      return { chunks: [], done: false, error: tritonAdapter.errorInfo(500, parsed) };
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

function textOutput(body: unknown): string {
  if (!isRecord(body) || typeof body.text_output !== 'string') {
    throw new UpstreamProtocolError('Triton response without a text_output string');
  }
  return body.text_output;
}

