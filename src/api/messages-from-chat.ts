import type { AnthropicMessage, AnthropicStreamEvent, AnthropicUsage, ContentBlock, StopReason } from '../providers/anthropic/wire.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type StreamTranslator } from '../providers/types.js';
import type { SseEvent } from '../upstream/sse-event.js';
import type { ChatChunk, ChatCompletion, FinishReason, UsageRecord } from './chat-types.js';
import { parseToolArguments } from './tool-arguments.js';

/**
 * Our (OpenAI-shaped) results → Anthropic's Message and event stream, for `/v1/messages` served
 * by a non-Anthropic deployment (protocols.md §2.8, reverse direction).
 */

/** OpenAI `finish_reason` → Anthropic `stop_reason`. OpenAI does not say which stop string matched, so `stop` is `end_turn`. */
export function stopReasonFor(finish: FinishReason | null | undefined): StopReason {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** Our usage record in Anthropic's shape: `input_tokens` excludes cache reads and writes. */
function anthropicUsage(u: UsageRecord): AnthropicUsage {
  const write = u.cacheWriteTokens ?? 0;
  return {
    input_tokens: Math.max(0, u.promptTokens - u.cachedTokens - write),
    output_tokens: u.completionTokens,
    cache_creation_input_tokens: write,
    cache_read_input_tokens: u.cachedTokens,
  };
}

/** `msg_…` id derived from our completion id, so logs and responses can be matched. */
function messageId(ctx: ResponseContext): string {
  return `msg_${ctx.id.replace(/^chatcmpl-/, '')}`;
}

/** A chat completion → an Anthropic message. Throws UpstreamProtocolError when tool arguments are not a JSON object. */
export function completionToMessage(completion: ChatCompletion, usage: UsageRecord, ctx: ResponseContext): AnthropicMessage {
  const choice = completion.choices[0];
  const content: ContentBlock[] = [];
  // An OpenAI refusal is the model's answer text; Anthropic carries it as text. An empty
  // `content` beside a refusal says nothing, so it must not hide the refusal.
  for (const text of [choice?.message.content, choice?.message.refusal]) if (typeof text === 'string' && text !== '') content.push({ type: 'text', text });
  for (const call of choice?.message.tool_calls ?? []) {
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
  }
  return {
    id: messageId(ctx),
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content,
    stop_reason: stopReasonFor(choice?.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(usage),
  };
}

/** An upstream's tool-call arguments as Anthropic's `input` object; anything else is the upstream's fault. */
function toolInput(args: string): Record<string, unknown> {
  const parsed = parseToolArguments(args);
  if (parsed.ok) return parsed.value;
  throw new UpstreamProtocolError(parsed.reason === 'not_json' ? 'tool call arguments are not valid JSON' : 'tool call arguments are not a JSON object');
}

/** A block held back because another block is open: Anthropic blocks are strictly one after another. */
type Pending = { kind: 'text'; text: string } | { kind: 'tool'; toolIndex: number; id: string | undefined; name: string | undefined; args: string };

/**
 * Wraps a chat stream translator and re-emits its chunks as Anthropic events: message_start with
 * the first chunk, one content block per text run or tool call (tool `arguments` fragments as
 * `input_json_delta`), and, when the inner stream ends cleanly, message_delta with the stop
 * reason and the full usage, then message_stop. Errors pass through untouched.
 *
 * Anthropic blocks never interleave, while OpenAI's parallel tool calls may (fragments of call 0
 * after call 1 started). So one block streams live at a time: the first tool call keeps its block
 * open until the end, and anything else that arrives meanwhile (other calls, text after a call)
 * is held and emitted, whole and in arrival order, when the stream finishes. No event ever names
 * a block that was already stopped.
 */
export class ChatToMessagesStream implements StreamTranslator<AnthropicStreamEvent> {
  readonly #inner: StreamTranslator<ChatChunk>;
  readonly #ctx: ResponseContext;
  #started = false;
  /** The block streaming live: its Anthropic index, and the OpenAI tool-call index if a tool. */
  #open: { index: number; toolIndex: number | undefined } | undefined;
  readonly #pending: Pending[] = [];
  /** OpenAI tool-call index → its held entry. */
  readonly #pendingTools = new Map<number, Pending & { kind: 'tool' }>();
  /** Whether a tool call has been seen (only the first streams live). */
  #sawTool = false;
  #nextIndex = 0;
  #stop: StopReason | undefined;
  #finished = false;

  constructor(inner: StreamTranslator<ChatChunk>, ctx: ResponseContext) {
    this.#inner = inner;
    this.#ctx = ctx;
  }

  onEvent(event: SseEvent): StreamStep<AnthropicStreamEvent> {
    return this.#convert(this.#inner.onEvent(event));
  }

  onEnd(): StreamStep<AnthropicStreamEvent> {
    return this.#convert(this.#inner.onEnd());
  }

  usage(): UsageRecord {
    return this.#inner.usage();
  }

  #convert(step: StreamStep<ChatChunk>): StreamStep<AnthropicStreamEvent> {
    const out: AnthropicStreamEvent[] = [];
    for (const chunk of step.chunks) this.#chunk(chunk, out);
    if (step.error) return { chunks: out, done: false, error: step.error };
    if (step.done) this.#finish(out);
    return { chunks: out, done: step.done };
  }

  #start(out: AnthropicStreamEvent[]): void {
    if (this.#started) return;
    this.#started = true;
    // Input tokens are not known until the end for OpenAI-protocol upstreams; message_delta
    // carries the real figures, which the Anthropic SDKs take over message_start's.
    const message: AnthropicMessage = { id: messageId(this.#ctx), type: 'message', role: 'assistant', model: this.#ctx.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } };
    out.push({ type: 'message_start', message });
  }

  #chunk(chunk: ChatChunk, out: AnthropicStreamEvent[]): void {
    this.#start(out);
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return;
    const d = choice.delta;
    // A refusal is the model's answer text (an empty `content` beside it says nothing).
    for (const text of [d.content, d.refusal]) if (typeof text === 'string' && text !== '') this.#text(text, out);
    for (const tc of d.tool_calls ?? []) this.#toolFragment(tc, out);
    if (choice.finish_reason) this.#stop = stopReasonFor(choice.finish_reason);
  }

  #text(text: string, out: AnthropicStreamEvent[]): void {
    if (this.#open?.toolIndex !== undefined) {
      // A tool block is live and may still get fragments: hold the text.
      const last = this.#pending.at(-1);
      if (last?.kind === 'text') last.text += text;
      else this.#pending.push({ kind: 'text', text });
      return;
    }
    if (this.#open === undefined) this.#openBlock(out, { type: 'text', text: '' }, undefined);
    out.push({ type: 'content_block_delta', index: this.#open!.index, delta: { type: 'text_delta', text } });
  }

  #toolFragment(tc: NonNullable<ChatChunk['choices'][number]['delta']['tool_calls']>[number], out: AnthropicStreamEvent[]): void {
    const args = tc.function?.arguments;
    if (this.#open?.toolIndex === tc.index) {
      if (typeof args === 'string' && args !== '') out.push({ type: 'content_block_delta', index: this.#open.index, delta: { type: 'input_json_delta', partial_json: args } });
      return;
    }
    let held = this.#pendingTools.get(tc.index);
    if (!this.#sawTool) {
      // The first tool call: close any text block and stream this one live.
      this.#sawTool = true;
      this.#openBlock(out, { type: 'tool_use', id: this.#toolId(tc.id, tc.index), name: tc.function?.name ?? '', input: {} }, tc.index);
      if (typeof args === 'string' && args !== '') out.push({ type: 'content_block_delta', index: this.#open!.index, delta: { type: 'input_json_delta', partial_json: args } });
      return;
    }
    if (held === undefined) {
      held = { kind: 'tool', toolIndex: tc.index, id: undefined, name: undefined, args: '' };
      this.#pendingTools.set(tc.index, held);
      this.#pending.push(held);
    }
    held.id ??= tc.id;
    held.name ??= tc.function?.name;
    if (typeof args === 'string') held.args += args;
  }

  #toolId(id: string | undefined, toolIndex: number): string {
    return id ?? `toolu_${this.#ctx.id.replace(/^chatcmpl-/, '')}_${toolIndex}`;
  }

  #openBlock(out: AnthropicStreamEvent[], block: ContentBlock, toolIndex: number | undefined): void {
    this.#closeBlock(out);
    const index = this.#nextIndex++;
    this.#open = { index, toolIndex };
    out.push({ type: 'content_block_start', index, content_block: block });
  }

  #closeBlock(out: AnthropicStreamEvent[]): void {
    if (!this.#open) return;
    out.push({ type: 'content_block_stop', index: this.#open.index });
    this.#open = undefined;
  }

  #finish(out: AnthropicStreamEvent[]): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#start(out);
    this.#closeBlock(out);
    for (const p of this.#pending) {
      if (p.kind === 'text') {
        this.#openBlock(out, { type: 'text', text: '' }, undefined);
        out.push({ type: 'content_block_delta', index: this.#open!.index, delta: { type: 'text_delta', text: p.text } });
      } else {
        this.#openBlock(out, { type: 'tool_use', id: this.#toolId(p.id, p.toolIndex), name: p.name ?? '', input: {} }, p.toolIndex);
        if (p.args !== '') out.push({ type: 'content_block_delta', index: this.#open!.index, delta: { type: 'input_json_delta', partial_json: p.args } });
      }
      this.#closeBlock(out);
    }
    out.push({ type: 'message_delta', delta: { stop_reason: this.#stop ?? 'end_turn', stop_sequence: null }, usage: anthropicUsage(this.#inner.usage()) });
    out.push({ type: 'message_stop' });
  }
}
