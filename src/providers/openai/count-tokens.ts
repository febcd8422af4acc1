import type { TargetInfo, UpstreamCall } from '../types.js';

/**
 * OpenAI's `POST /v1/responses/input_tokens` on a deployment that serves the Responses API
 * itself: the validated count body with the deployment's model. Only on OpenAI's own surface
 * (`{base}/responses/input_tokens`): a deployment with a pinned `api-version` (Azure's classic
 * surface) has no such path, so undefined and our tokenizer counts.
 */
export function responsesCountCall(native: Readonly<Record<string, unknown>>, target: TargetInfo): UpstreamCall | undefined {
  if (target.responsesApi !== true || target.apiVersion !== undefined) return undefined;
  return {
    method: 'POST',
    path: `${target.basePath}/responses/input_tokens`,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ ...native, model: target.upstreamModel }),
  };
}
