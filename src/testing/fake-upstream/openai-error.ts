import type { Answer, DialectContext } from './exchange.js';

/** OpenAI's error shapes and the checks every OpenAI route of the fake shares. */

/** OpenAI's error body: all four keys, `param` and `code` nullable (protocols.md §1.6). */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const STATUS_ERRORS: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Bad request.' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  403: { type: 'invalid_request_error', code: null, message: 'You are not allowed to sample from this model.' },
  404: { type: 'invalid_request_error', code: 'model_not_found', message: 'The model does not exist.' },
  429: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests.' },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request.' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
};

/**
 * Builds an OpenAI error body. Type and code default from the status table above; unknown
 * statuses get `server_error` (5xx) or `invalid_request_error`, with a null code.
 */
export function openAiError(
  status: number,
  message?: string,
  param: string | null = null,
  code?: string | null,
): OpenAiErrorBody {
  const known = STATUS_ERRORS[status];
  const type = known?.type ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
  const text = message ?? known?.message ?? `HTTP ${status}`;
  return { error: { message: text, type, param, code: code === undefined ? (known?.code ?? null) : code } };
}

export function errorAnswer(status: number, message: string, param: string | null, code: string | null): Answer {
  return { kind: 'json', status, body: openAiError(status, message, param, code) };
}

export function badRequest(message: string, param: string, code: string): Answer {
  return errorAnswer(400, message, param, code);
}

/** Validates `model` (and the model list); returns an error answer or undefined. */
export function checkModel(body: Record<string, unknown>, context: DialectContext): Answer | undefined {
  const model = body['model'];
  if (model === undefined) return badRequest("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  if (typeof model !== 'string' || model === '') {
    return badRequest("Invalid type for 'model': expected a non-empty string.", 'model', 'invalid_type');
  }
  if (context.models !== undefined && !context.models.includes(model)) {
    const message = `The model \`${model}\` does not exist or you do not have access to it.`;
    return errorAnswer(404, message, null, 'model_not_found');
  }
  return undefined;
}
