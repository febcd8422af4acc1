import { isRecord } from '../is-record.js';
import { estimateJsonTokens, imageTokenEstimate } from './token-estimate.js';

/**
 * What a Responses request's input carries beyond its chat translation, for the prompt
 * reservation. The chat form (what `estimateChatPromptTokens` counts) drops reasoning items,
 * items of other types (custom tool outputs, computer calls, item references…) and content
 * parts it cannot express (files, audio); a deployment that serves the Responses API natively
 * is sent all of them and bills them as prompt, so a 4 MB `encrypted_content` or `file_data`
 * must not reserve 7 tokens. Each is counted by its serialised size, as token-estimate.ts counts
 * parts it cannot read; images by `imageTokenEstimate`. Linear in the items and their parts.
 */
export function estimateUntranslatedInputTokens(items: readonly unknown[]): number {
  let total = 0;
  for (const item of items) {
    if (!isRecord(item)) continue;
    switch (item.type) {
      case 'message':
        total += untranslatedParts(item.content, item.role === 'assistant' ? assistantParts : item.role === 'user' ? userParts : textParts);
        break;
      case 'function_call':
        break;
      case 'function_call_output':
        total += untranslatedParts(item.output, outputParts);
        break;
      default:
        // Reasoning (its encrypted_content goes to a native upstream) and every type chat has no place for.
        total += 3 + estimateJsonTokens(item);
    }
  }
  return total;
}

/** Part types the chat translation carries (and estimateChatPromptTokens counts), by where they appear. */
const userParts: ReadonlySet<string> = new Set(['input_text', 'input_image']);
const assistantParts: ReadonlySet<string> = new Set(['output_text', 'input_text', 'refusal']);
const outputParts: ReadonlySet<string> = new Set(['input_text', 'output_text']);
const textParts: ReadonlySet<string> = new Set(['input_text']);

function untranslatedParts(parts: unknown, carried: ReadonlySet<string>): number {
  if (!Array.isArray(parts)) return 0;
  let total = 0;
  for (const part of parts) {
    if (!isRecord(part)) continue;
    if (typeof part.type === 'string' && carried.has(part.type) && part.file_id == null) continue;
    total += part.type === 'input_image' ? imageTokenEstimate : estimateJsonTokens(part);
  }
  return total;
}
