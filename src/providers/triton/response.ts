import type { ChatCompletion } from '../../api/chat-types.js';
import { toOpenAiUsage } from '../chunks.js';
import { countedUsage } from '../estimated-usage.js';
import type { ResponseContext } from '../types.js';
import { textOutput } from './wire.js';

/** A non-streamed generate answer as one chat completion; Triton reports no usage, so it is counted. */
export function tritonChatResponse(body: unknown, ctx: ResponseContext) {
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
}
