import type { ChatRequest } from '../chat-types.js';
import { countTextsTokens } from '../token-count.js';
import { messageText } from '../token-estimate.js';

/**
 * Our tokenizer's count of a request's input (cl100k_base, token-count.ts), for deployments
 * whose provider has no count endpoint: every message's text with OpenAI's per-message framing
 * (3 per message, +1 with a name, +3 to prime the reply), the tool calls' names and arguments,
 * and the tool definitions as JSON. Images and files are not counted. The served model's own
 * tokenizer may differ: the answer says it is an estimate (`x-gateway-token-count: estimate`).
 * Bounded work whatever the input (countTextsTokens samples past its budget).
 */
export function estimateChatInputTokens(chat: ChatRequest): number {
  let framing = 3;
  const texts: string[] = [];
  for (const m of chat.messages) {
    framing += m.name === undefined ? 3 : 4;
    texts.push(messageText(m));
    for (const call of m.tool_calls ?? []) texts.push(call.function.name, call.function.arguments);
  }
  const tools = chat.body.tools;
  if (Array.isArray(tools) && tools.length > 0) texts.push(JSON.stringify(tools));
  return framing + countTextsTokens(texts);
}
