import { toolCallId } from '../translate-helpers.js';

/**
 * Gemini has no tool-call ids, and Gemini 3 wants each function call's `thoughtSignature` back
 * in the next request. OpenAI clients keep nothing but the id, so the signature travels in it:
 * `call_<id>_<n>~sig~<signature>`. Signatures are base64 and never contain `~`.
 */
const separator = '~sig~';

export function geminiToolCallId(completionId: string, n: number, signature: string | undefined): string {
  const id = toolCallId(completionId, n);
  return signature === undefined ? id : `${id}${separator}${signature}`;
}

/** The signature carried by an id we generated, if any. */
export function splitToolCallId(id: string): { signature: string | undefined } {
  const at = id.indexOf(separator);
  return { signature: at < 0 ? undefined : id.slice(at + separator.length) || undefined };
}
