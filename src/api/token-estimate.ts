import type { ChatMessage } from './chat-types.js';

/**
 * Token estimates for when a provider reports no usage (Triton) and for admission-time
 * reservations. Deliberately simple and a little generous (≈ 4 UTF-8 bytes per token, OpenAI's
 * rule of thumb); figures produced here are always marked `estimated`.
 *
 * A reservation must cover everything the provider bills as prompt, not only message text:
 * tool and function schemas, `response_format` schemas, images and other non-text parts. Each
 * is counted by its serialised size except images, whose cost does not follow their byte size
 * (docs/rate-limits.md "What a request reserves").
 */
export function estimateTextTokens(text: string): number {
  if (text.length === 0) return 0;
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}

/**
 * Tokens reserved per image part, whatever its size: at least what the common vision models
 * charge for their largest image (GPT-4o high detail 1,445; Claude ≈ 1,600; GPT-4.1-mini
 * ≈ 2,490; Gemini 258–1,120). A data URL is not counted by its bytes: a 5 MB photo is not
 * a million tokens.
 */
export const imageTokenEstimate = 2_500;

const imagePartTypes = new Set(['image_url', 'image', 'input_image']);

/**
 * UTF-8 bytes per token assumed for JSON. Schemas tokenise denser than prose: function schemas
 * measured 3.7 bytes per cl100k token (punctuation and short keys), so 4 would under-reserve.
 */
const jsonBytesPerToken = 3;

/** Any JSON value by its serialised size (schemas, audio and file parts); 0 for undefined or null. */
export function estimateJsonTokens(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const json = JSON.stringify(value);
  return json === undefined ? 0 : Math.ceil(Buffer.byteLength(json, 'utf8') / jsonBytesPerToken);
}

/**
 * One content part (OpenAI or Anthropic shape): text by its text, images by
 * `imageTokenEstimate`, anything else (audio, files, documents, tool results) by its size.
 */
function estimatePartTokens(part: unknown): number {
  if (typeof part !== 'object' || part === null) return estimateJsonTokens(part);
  const p = part as Record<string, unknown>;
  if (typeof p.text === 'string' && (p.type === 'text' || p.type === 'input_text')) return estimateTextTokens(p.text);
  if (typeof p.type === 'string' && imagePartTypes.has(p.type)) return imageTokenEstimate;
  return estimateJsonTokens(part);
}

/** A message's content: a string, or parts each estimated by `estimatePartTokens`. */
function estimateContentTokens(content: unknown): number {
  if (typeof content === 'string') return estimateTextTokens(content);
  if (!Array.isArray(content)) return estimateJsonTokens(content);
  let total = 0;
  for (const part of content) total += estimatePartTokens(part);
  return total;
}

/** Prompt estimate: per-message overhead of 3, content tokens, +3 to prime the reply (OpenAI cookbook). */
function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  let total = 3;
  for (const m of messages) {
    total += 3 + estimateContentTokens(m.content ?? '');
    if (m.name !== undefined) total += 1;
    if (m.tool_calls) total += estimateJsonTokens(m.tool_calls);
  }
  return total;
}

/** Request-level fields a provider bills as prompt: tool and function schemas, structured-output schemas. */
const promptBodyFields = ['tools', 'functions', 'response_format', 'tool_choice'] as const;

/** A chat request's prompt: its messages plus the schemas in `promptBodyFields`. */
export function estimateChatPromptTokens(request: { readonly messages: readonly ChatMessage[]; readonly body: Readonly<Record<string, unknown>> }): number {
  let total = estimatePromptTokens(request.messages);
  for (const field of promptBodyFields) total += estimateJsonTokens(request.body[field]);
  return total;
}

/**
 * An Anthropic Messages body's prompt, from the body as sent (not its chat translation, which
 * drops what it cannot express): system, every block of every message, tools and the output
 * schema.
 */
export function estimateMessagesPromptTokens(body: Readonly<Record<string, unknown>>): number {
  let total = 3 + estimateContentTokens(body.system ?? '');
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const m of messages) {
    total += 3 + estimateContentTokens(typeof m === 'object' && m !== null ? (m as Record<string, unknown>).content : m);
  }
  return total + estimateJsonTokens(body.tools) + estimateJsonTokens(body.output_config) + estimateJsonTokens(body.tool_choice);
}

/** The text of a message's content (text parts joined; other parts ignored). */
export function messageText(m: ChatMessage): string {
  const c = m.content;
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  let out = '';
  for (const part of c) if (typeof part.text === 'string') out += part.text;
  return out;
}
