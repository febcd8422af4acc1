import type { ChatChunk } from '../api/chat-types.js';
import type { TextCompletion } from '../api/completions-types.js';
import type { AnthropicStreamEvent } from '../providers/anthropic/wire.js';
import type { ResponseStreamEvent } from '../api/responses-types.js';

/**
 * The stream commit point (issue 10 §6): a stream is committed to a deployment on its first
 * chunk that carries something, never on one that only opens it (OpenAI's role-only first
 * chunk, Anthropic's `message_start`), so an upstream that fails right after such a chunk can
 * still be retried or failed over. The opening chunks are held back and sent with the first
 * real one.
 */

/** Opening chunks held back at most; an upstream that sends more commits the stream anyway. */
export const maxOpeningChunks = 64;

/** Thrown into a stream's body when no chunk with content came within `firstContentTimeoutMs`. */
export class FirstContentTimeoutError extends Error {
  readonly code = 'GATEWAY_FIRST_CONTENT_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`no content within ${timeoutMs} ms of the response headers`);
    this.name = 'FirstContentTimeoutError';
  }
}

/** Content, a refusal, a tool call, any other non-empty delta field, a finish or usage. */
export function chatChunkHasContent(chunk: ChatChunk): boolean {
  if (chunk.usage) return true;
  for (const choice of chunk.choices) {
    if (choice.finish_reason != null) return true;
    for (const key in choice.delta) {
      if (key !== 'role' && isPresent(choice.delta[key])) return true;
    }
  }
  return false;
}

/** Text, a finish or usage. */
export function textChunkHasContent(chunk: TextCompletion): boolean {
  return chunk.usage !== undefined || chunk.choices.some((c) => c.text !== '' || c.finish_reason != null);
}

/** Anything but the opening `message_start` and keep-alive `ping`s. */
export function messagesEventHasContent(event: AnthropicStreamEvent): boolean {
  return event.type !== 'message_start' && event.type !== 'ping';
}

/**
 * Responses events that only open the response or an empty message (`response.created`,
 * `response.in_progress`, a message's `output_item.added`, `content_part.added`) do not commit;
 * text, a refusal, a function call item, its arguments, an end or an error do.
 */
export function responsesEventHasContent(event: ResponseStreamEvent): boolean {
  switch (event.type) {
    case 'response.created':
    case 'response.in_progress':
    case 'response.queued':
    case 'response.content_part.added':
      return false;
    case 'response.output_item.added': {
      const item = event.item as { type?: unknown } | undefined;
      return item?.type !== 'message' && item?.type !== 'reasoning';
    }
    case 'response.output_text.delta':
    case 'response.refusal.delta':
    case 'response.function_call_arguments.delta':
      return isPresent(event.delta);
    default:
      return true;
  }
}

function isPresent(value: unknown): boolean {
  return value !== null && value !== undefined && value !== '' && !(Array.isArray(value) && value.length === 0);
}
