import type { UsageRecord } from '../../api/chat-types.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type StreamTranslator, type TargetInfo, type UpstreamCall } from '../types.js';
import { messagesCall } from './request.js';
import { anthropicErrorInfo } from './error.js';
import { anthropicUsageRecord, asMessage } from './response.js';
import { parseAnthropicEvent } from './stream.js';
import { isObject, type AnthropicMessage, type AnthropicStreamEvent, type TextBlock } from './wire.js';

/**
 * `/v1/messages` served by an Anthropic deployment: the client's body goes upstream as sent
 * (only `model` replaced), and the answer comes back as received (only `model` replaced), so
 * nothing Anthropic-only (thinking, citations, cache control, server tools) is lost.
 */

/**
 * The upstream call: the native body with the deployment's model; `system` turns hoisted for
 * 2023-06-01; the client's `anthropic-beta` header forwarded.
 */
export function nativeMessagesCall(native: Readonly<Record<string, unknown>>, target: TargetInfo, stream: boolean, betas?: string): UpstreamCall {
  const body: Record<string, unknown> = { ...native, model: target.upstreamModel };
  const messages = Array.isArray(native.messages) ? (native.messages as Array<Record<string, unknown>>) : [];
  if (messages.some((m) => m.role === 'system') && target.apiVersion !== '2026-10-21') {
    const system: TextBlock[] = typeof native.system === 'string' ? [{ type: 'text', text: native.system }] : Array.isArray(native.system) ? [...(native.system as TextBlock[])] : [];
    for (const m of messages.filter((x) => x.role === 'system')) {
      if (typeof m.content === 'string') system.push({ type: 'text', text: m.content });
      else if (Array.isArray(m.content)) system.push(...(m.content as TextBlock[]));
    }
    body.system = system;
    body.messages = messages.filter((m) => m.role !== 'system');
  }
  const call = messagesCall(body, target, stream);
  return betas === undefined ? call : { ...call, headers: { ...call.headers, 'anthropic-beta': betas } };
}

/** The upstream message, as received, with the alias as `model`. */
export function nativeMessagesResponse(body: unknown, ctx: ResponseContext): { value: AnthropicMessage; usage: UsageRecord } {
  const msg = asMessage(body);
  if (!isObject(msg.usage)) throw new UpstreamProtocolError('Anthropic message without usage');
  return { value: { ...msg, model: ctx.model }, usage: anthropicUsageRecord(msg.usage) };
}

/**
 * Forwards events as received (pings and unknown types included), with the alias as `model`.
 * message_start (and pings) are held back until the first other event, so an `error` right
 * after message_start is still before the commit point and can be retried (F-14).
 */
export class NativeMessagesStream implements StreamTranslator<AnthropicStreamEvent> {
  readonly #ctx: ResponseContext;
  #held: AnthropicStreamEvent[] | undefined = [];
  #usage: Record<string, unknown> | undefined;
  #done = false;

  constructor(ctx: ResponseContext) {
    this.#ctx = ctx;
  }

  onEvent(event: SseEvent): StreamStep<AnthropicStreamEvent> {
    const e = parseAnthropicEvent(event);
    if (e.type === 'error') return { chunks: [], done: false, error: anthropicErrorInfo(500, e) };
    if (e.type === 'message_start' && isObject(e.message)) {
      if (isObject(e.message.usage)) this.#usage = { ...e.message.usage };
      e.message = { ...e.message, model: this.#ctx.model };
    }
    if (e.type === 'message_delta' && isObject(e.usage)) {
      for (const [k, v] of Object.entries(e.usage)) if (v !== null && v !== undefined) (this.#usage ??= {})[k] = v;
    }
    if (e.type === 'message_stop') this.#done = true;
    const ev = e as unknown as AnthropicStreamEvent;
    if (this.#held && (e.type === 'message_start' || e.type === 'ping')) {
      this.#held.push(ev);
      return { chunks: [], done: false };
    }
    const chunks = this.#held ? [...this.#held, ev] : [ev];
    this.#held = undefined;
    return { chunks, done: this.#done };
  }

  onEnd(): StreamStep<AnthropicStreamEvent> {
    if (!this.#done) throw new UpstreamProtocolError('Anthropic stream ended before message_stop');
    return { chunks: [], done: true };
  }

  usage(): UsageRecord {
    if (this.#usage) return anthropicUsageRecord(this.#usage);
    return { promptTokens: this.#ctx.promptTokensEstimate, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, estimated: true };
  }
}
