import type { ChatRequest } from '../../api/chat-types.js';
import type { CompletionsRequest } from '../../api/completions-types.js';
import type { TargetInfo, UpstreamCall } from '../types.js';
import type { Endpoint } from './wire.js';

/**
 * Where each endpoint lives. OpenAI, vLLM and Azure's `/openai/v1` surface use `{base}/{endpoint}`;
 * Azure's classic surface (a pinned `api-version`) addresses the deployment in the path.
 */
export function endpointPath(target: TargetInfo, endpoint: Endpoint): string {
  if (target.apiVersion === undefined) return `${target.basePath}/${endpoint}`;
  return `${target.basePath}/deployments/${encodeURIComponent(target.upstreamModel)}/${endpoint}?api-version=${encodeURIComponent(target.apiVersion)}`;
}

function jsonCall(path: string, body: Record<string, unknown>, stream: boolean): UpstreamCall {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' },
    body: JSON.stringify(body),
  };
}

/** The client's body with `model` replaced; streams always ask for usage so limits see real counts. */
function passThroughBody(body: Readonly<Record<string, unknown>>, stream: boolean, model: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body, model };
  if (stream) out.stream_options = { ...((body.stream_options ?? {}) as Record<string, unknown>), include_usage: true };
  return out;
}

export function openAiChatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall {
  return jsonCall(endpointPath(target, 'chat/completions'), passThroughBody(request.body, request.stream, target.upstreamModel), request.stream);
}

export function openAiCompletionsRequest(request: CompletionsRequest, target: TargetInfo): UpstreamCall {
  return jsonCall(endpointPath(target, 'completions'), passThroughBody(request.body, request.stream, target.upstreamModel), request.stream);
}
