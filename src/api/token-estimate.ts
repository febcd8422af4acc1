import type { ChatMessage } from './chat-types.js';

/**
 * Token estimates for when a provider reports no usage (Triton) and for admission-time
 * reservations. Deliberately simple and a little generous (≈ 4 UTF-8 bytes per token, OpenAI's
 * rule of thumb); figures produced here are always marked `estimated`.
 */
export function estimateTextTokens(text: string): number {
  if (text.length === 0) return 0;
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}

/** Prompt estimate: per-message overhead of 3, content tokens, +3 to prime the reply (OpenAI cookbook). */
export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  let total = 3;
  for (const m of messages) {
    total += 3 + estimateTextTokens(messageText(m));
    if (m.name !== undefined) total += 1;
    if (m.tool_calls) total += estimateTextTokens(JSON.stringify(m.tool_calls));
  }
  return total;
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
