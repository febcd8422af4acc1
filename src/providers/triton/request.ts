import type { ChatMessage, ChatRequest } from '../../api/chat-types.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { TargetInfo, UpstreamCall } from '../types.js';

const roleLabels: Record<string, string> = {
  system: 'System',
  developer: 'System',
  user: 'User',
  assistant: 'Assistant',
};

/**
 * Triton's generate endpoint takes plain text, so chat messages are rendered into a transcript
 * ("System: …\n\nUser: …\n\nAssistant:"). Deployments whose model repository applies its own
 * chat template in preprocessing receive the same transcript and may re-template it.
 * Parts the text protocol cannot carry (images, audio, tool calls) are refused with a 400.
 */
export function renderPrompt(messages: readonly ChatMessage[]): string {
  const parts: string[] = [];
  for (const [i, m] of messages.entries()) {
    const label = roleLabels[m.role];
    if (label === undefined) {
      throw new GatewayError('unsupported_parameter', `Messages with role '${m.role}' are not supported by Triton deployments.`, { param: `messages[${i}].role` });
    }
    if (m.tool_calls !== undefined && m.tool_calls.length > 0) {
      throw new GatewayError('unsupported_parameter', 'Tool calls are not supported by Triton deployments.', { param: `messages[${i}].tool_calls` });
    }
    parts.push(`${label}: ${textOf(m, i)}`);
  }
  parts.push('Assistant:');
  return parts.join('\n\n');
}

function textOf(m: ChatMessage, index: number): string {
  const c = m.content;
  if (c === undefined || c === null) return '';
  if (typeof c === 'string') return c;
  let out = '';
  for (const [j, part] of c.entries()) {
    if (part.type !== 'text' || typeof part.text !== 'string') {
      throw new GatewayError('unsupported_parameter', `Content parts of type '${part.type}' are not supported by Triton deployments.`, {
        param: `messages[${index}].content[${j}]`,
      });
    }
    out += part.text;
  }
  return out;
}

/**
 * OpenAI request fields with a direct TensorRT-LLM / Triton generate equivalent (same names).
 * `top_k` is not OpenAI's, but vLLM clients and Anthropic's `/v1/messages` send it.
 */
const passedThrough = ['temperature', 'top_p', 'top_k', 'presence_penalty', 'frequency_penalty', 'seed'] as const;

export function tritonChatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall {
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
}
