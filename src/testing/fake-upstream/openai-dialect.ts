import { decodeSegment } from './exchange.js';
import type { Answer, DialectContext, FakeDialect, FakeRequest } from './exchange.js';
import { countWords, defaultReply, embeddingVector, float32Base64, splitPieces, truncateWords } from './reply.js';
import { isRecord } from '../../is-record.js';
import { badRequest, checkModel, errorAnswer, openAiError } from './openai-error.js';
import { responses, responsesInputTokensRoute } from './openai-responses.js';

export { openAiError, type OpenAiErrorBody } from './openai-error.js';

/** Dimension of the fake's embedding vectors when the request does not ask for one. */
export const FAKE_EMBEDDING_DIMENSIONS = 16;

/** The text of a message's `content`: a string, or the text parts of an array. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (isRecord(part) && typeof part['text'] === 'string' ? part['text'] : ''))
    .join(' ');
}

function checkMessages(messages: unknown): Answer | undefined {
  if (messages === undefined) {
    return badRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  }
  if (!Array.isArray(messages)) return badRequest("Invalid type for 'messages': expected an array.", 'messages', 'invalid_type');
  if (messages.length === 0) {
    return badRequest("Invalid 'messages': empty array. Expected at least 1 message.", 'messages', 'empty_array');
  }
  const bad = messages.findIndex((m) => !isRecord(m) || typeof m['role'] !== 'string');
  if (bad < 0) return undefined;
  return badRequest(`Invalid 'messages[${bad}]': expected an object with a string 'role'.`, `messages[${bad}]`, 'invalid_type');
}

interface ChatPlan {
  id: string;
  model: string;
  created: number;
  pieces: string[];
  finishReason: 'stop' | 'length';
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

function planChat(
  body: Record<string, unknown>,
  messages: Array<Record<string, unknown>>,
  context: DialectContext,
): ChatPlan {
  const lastUser = messages.filter((m) => m['role'] === 'user').at(-1);
  let text = context.behaviour.reply ?? defaultReply(context.fakeName, contentText(lastUser?.['content']));
  let finishReason: ChatPlan['finishReason'] = 'stop';
  const maxTokens = body['max_completion_tokens'] ?? body['max_tokens'];
  if (typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens > 0) {
    const cut = truncateWords(text, maxTokens);
    text = cut.text;
    if (cut.truncated) finishReason = 'length';
  }
  // Deterministic stand-in for a tokenizer: words plus 3 per message for the chat framing.
  const promptTokens = messages.reduce((sum, m) => sum + countWords(contentText(m['content'])) + 3, 0);
  const completionTokens = countWords(text);
  return {
    id: `chatcmpl-fake-${context.sequence}`,
    model: String(body['model']),
    created: context.nowSeconds,
    pieces: splitPieces(text, context.behaviour.chunks),
    finishReason,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

function chatCompletion(plan: ChatPlan): Answer {
  const body = {
    id: plan.id,
    object: 'chat.completion',
    created: plan.created,
    model: plan.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: plan.pieces.join(''), refusal: null },
        logprobs: null,
        finish_reason: plan.finishReason,
      },
    ],
    usage: plan.usage,
    system_fingerprint: 'fp_fake',
  };
  return { kind: 'json', status: 200, body };
}

function chatStream(plan: ChatPlan, includeUsage: boolean): Answer {
  const frame = (choices: unknown[], usage?: ChatPlan['usage'] | null): string => {
    const chunk = {
      id: plan.id,
      object: 'chat.completion.chunk',
      created: plan.created,
      model: plan.model,
      system_fingerprint: 'fp_fake',
      choices,
    };
    // With include_usage every chunk carries `usage` (null until the last), as OpenAI sends it.
    return `data: ${JSON.stringify(includeUsage ? { ...chunk, usage: usage ?? null } : chunk)}\n\n`;
  };
  const choice = (delta: object, finishReason: string | null): object => ({
    index: 0,
    delta,
    logprobs: null,
    finish_reason: finishReason,
  });
  const events = [
    frame([choice({ role: 'assistant', content: '' }, null)]),
    ...plan.pieces.map((piece) => frame([choice({ content: piece }, null)])),
    frame([choice({}, plan.finishReason)]),
  ];
  if (includeUsage) events.push(frame([], plan.usage));
  events.push('data: [DONE]\n\n');
  return { kind: 'stream', contentType: 'text/event-stream', events };
}

function chat(body: Record<string, unknown>, context: DialectContext): Answer {
  const invalid = checkModel(body, context) ?? checkMessages(body['messages']);
  if (invalid !== undefined) return invalid;
  const plan = planChat(body, body['messages'] as Array<Record<string, unknown>>, context);
  if (body['stream'] !== true) return chatCompletion(plan);
  const streamOptions = body['stream_options'];
  return chatStream(plan, isRecord(streamOptions) && streamOptions['include_usage'] === true);
}

/** The texts to embed, or undefined when `input` has none of the four accepted shapes. */
function embeddingInputs(input: unknown): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((item) => typeof item === 'string')) return input as string[];
  // Token ids: one array of ids, or an array of them; each id list becomes one text.
  if (input.every((item) => typeof item === 'number')) return [input.join(' ')];
  if (input.every((item) => Array.isArray(item) && item.every((id) => typeof id === 'number'))) {
    return (input as number[][]).map((ids) => ids.join(' '));
  }
  return undefined;
}

function embeddings(body: Record<string, unknown>, context: DialectContext): Answer {
  const invalid = checkModel(body, context);
  if (invalid !== undefined) return invalid;
  const inputs = embeddingInputs(body['input']);
  if (inputs === undefined) {
    return badRequest("Invalid 'input': expected a string, an array of strings or token arrays.", 'input', 'invalid_type');
  }
  const dimensions = body['dimensions'] ?? FAKE_EMBEDDING_DIMENSIONS;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1 || dimensions > 4096) {
    return badRequest("Invalid 'dimensions': expected an integer from 1 to 4096.", 'dimensions', 'invalid_value');
  }
  const base64 = body['encoding_format'] === 'base64';
  const data = inputs.map((text, index) => {
    const vector = embeddingVector(text, dimensions);
    return { object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector };
  });
  const promptTokens = inputs.reduce((sum, text) => sum + countWords(text), 0);
  const usage = { prompt_tokens: promptTokens, total_tokens: promptTokens };
  return { kind: 'json', status: 200, body: { object: 'list', data, model: body['model'], usage } };
}

function modelEntry(id: string, created: number): object {
  return { id, object: 'model', created, owned_by: 'fake-upstream' };
}

function models(path: string, context: DialectContext): Answer {
  const known = context.models ?? ['fake-model'];
  if (path === '/v1/models') {
    const data = known.map((id) => modelEntry(id, context.nowSeconds));
    return { kind: 'json', status: 200, body: { object: 'list', data } };
  }
  const id = decodeSegment(path.slice('/v1/models/'.length));
  if (context.models !== undefined && !known.includes(id)) {
    return errorAnswer(404, `The model '${id}' does not exist`, 'model', 'model_not_found');
  }
  return { kind: 'json', status: 200, body: modelEntry(id, context.nowSeconds) };
}

/** The prompts of a legacy completion, or undefined when `prompt` has none of the four accepted shapes. */
function completionPrompts(prompt: unknown): string[] | undefined {
  // Same four shapes as embeddings input (string, strings, token ids, token-id arrays).
  return embeddingInputs(prompt);
}

interface TextPlan {
  id: string;
  model: string;
  created: number;
  choices: Array<{ pieces: string[]; finishReason: 'stop' | 'length' }>;
  usage: ChatPlan['usage'];
}

/** OpenAI's default `max_tokens` for legacy completions (protocols.md §1.9). */
const LEGACY_DEFAULT_MAX_TOKENS = 16;

function planText(body: Record<string, unknown>, prompts: string[], context: DialectContext): TextPlan | Answer {
  const maxTokens = body['max_tokens'] ?? LEGACY_DEFAULT_MAX_TOKENS;
  if (maxTokens !== null && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 0)) {
    return badRequest("Invalid 'max_tokens': expected a non-negative integer.", 'max_tokens', 'invalid_value');
  }
  const choices = prompts.map((prompt) => {
    let text = context.behaviour.reply ?? defaultReply(context.fakeName, prompt);
    let finishReason: 'stop' | 'length' = 'stop';
    if (typeof maxTokens === 'number' && maxTokens > 0) {
      const cut = truncateWords(text, maxTokens);
      text = cut.text;
      if (cut.truncated) finishReason = 'length';
    }
    return { text, finishReason };
  });
  const promptTokens = prompts.reduce((sum, prompt) => sum + countWords(prompt), 0);
  const completionTokens = choices.reduce((sum, c) => sum + countWords(c.text), 0);
  return {
    id: `cmpl-fake-${context.sequence}`,
    model: String(body['model']),
    created: context.nowSeconds,
    choices: choices.map((c) => ({ pieces: splitPieces(c.text, context.behaviour.chunks), finishReason: c.finishReason })),
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

function textCompletion(plan: TextPlan): Answer {
  const choices = plan.choices.map((c, index) => ({ text: c.pieces.join(''), index, logprobs: null, finish_reason: c.finishReason }));
  const body = { id: plan.id, object: 'text_completion', created: plan.created, model: plan.model, system_fingerprint: 'fp_fake', choices, usage: plan.usage };
  return { kind: 'json', status: 200, body };
}

function textStream(plan: TextPlan, includeUsage: boolean): Answer {
  const frame = (choices: unknown[], usage?: TextPlan['usage'] | null): string => {
    const chunk = { id: plan.id, object: 'text_completion', created: plan.created, model: plan.model, system_fingerprint: 'fp_fake', choices };
    return `data: ${JSON.stringify(includeUsage ? { ...chunk, usage: usage ?? null } : chunk)}\n\n`;
  };
  const events: string[] = [];
  plan.choices.forEach((c, index) => {
    const last = c.pieces.length - 1;
    // The last text fragment carries the finish reason, as OpenAI's legacy stream does.
    c.pieces.forEach((piece, i) => {
      events.push(frame([{ text: piece, index, logprobs: null, finish_reason: i === last ? c.finishReason : null }]));
    });
  });
  if (includeUsage) events.push(frame([], plan.usage));
  events.push('data: [DONE]\n\n');
  return { kind: 'stream', contentType: 'text/event-stream', events };
}

function completions(body: Record<string, unknown>, context: DialectContext): Answer {
  const invalid = checkModel(body, context);
  if (invalid !== undefined) return invalid;
  if (body['prompt'] === undefined) {
    return badRequest("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
  }
  const prompts = completionPrompts(body['prompt']);
  if (prompts === undefined) {
    return badRequest("Invalid 'prompt': expected a string, an array of strings or token arrays.", 'prompt', 'invalid_type');
  }
  const plan = planText(body, prompts, context);
  if ('kind' in plan) return plan;
  if (body['stream'] !== true) return textCompletion(plan);
  const streamOptions = body['stream_options'];
  return textStream(plan, isRecord(streamOptions) && streamOptions['include_usage'] === true);
}

type Handler = (body: Record<string, unknown>, context: DialectContext) => Answer;

const POST_ROUTES = new Map<string, Handler>([
  ['/v1/chat/completions', chat],
  ['/v1/completions', completions],
  ['/v1/embeddings', embeddings],
  ['/v1/responses', responses],
  ['/v1/responses/input_tokens', responsesInputTokensRoute],
]);

/** Routes that answer without generating anything: not counted in stats, and take no faults. */
const COUNT_ENDPOINTS = new Set(['responses/input_tokens']);

/** Azure OpenAI's classic surface: the deployment is in the path, `api-version` in the query (protocols.md §5.4). */
const AZURE_PATH = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/;

/**
 * The raw query string of a request (without `?`), when the server hands it to the dialect.
 * FakeRequest has no query today, so this reads an optional `query` (or `url`) property.
 */
function queryOf(request: FakeRequest): string | undefined {
  const extra = request as FakeRequest & { readonly query?: unknown; readonly url?: unknown };
  if (typeof extra.query === 'string') return extra.query.replace(/^\?/, '');
  if (typeof extra.url === 'string') return extra.url.includes('?') ? extra.url.slice(extra.url.indexOf('?') + 1) : '';
  return undefined;
}

/** Azure OpenAI's v1 surface: OpenAI's paths under `/openai/v1`, `model` names the deployment, no api-version. */
const AZURE_V1_PATH = /^\/openai\/v1\/(chat\/completions|completions|embeddings|responses|responses\/input_tokens)$/;

/**
 * Azure's dated surface for the Responses API: not deployment-scoped (the openai SDK's AzureOpenAI
 * rewrites only chat, completions, embeddings… to `/deployments/{d}/…`), so `/openai/responses`
 * with `api-version`, and `model` in the body names the deployment.
 */
const AZURE_RESPONSES_PATH = /^\/openai\/(responses|responses\/input_tokens)$/;

interface AzureRoute {
  /** The deployment the path names (classic chat surface); undefined when `model` names it. */
  deployment: string | undefined;
  endpoint: string;
  handler: Handler;
  needsApiVersion: boolean;
}

function azureRoute(path: string): AzureRoute | undefined {
  const v1 = AZURE_V1_PATH.exec(path) ?? AZURE_RESPONSES_PATH.exec(path);
  if (v1 !== null) {
    const endpoint = v1[1] ?? '';
    const handler = POST_ROUTES.get(`/v1/${endpoint}`);
    return handler === undefined ? undefined : { deployment: undefined, endpoint, handler, needsApiVersion: !path.startsWith('/openai/v1/') };
  }
  const match = AZURE_PATH.exec(path);
  if (match === null) return undefined;
  const endpoint = match[2] ?? '';
  const handler = POST_ROUTES.get(`/v1/${endpoint}`);
  return handler === undefined ? undefined : { deployment: decodeSegment(match[1] ?? ''), endpoint, handler, needsApiVersion: true };
}

function authorized(request: FakeRequest, apiKey: string | undefined, azure: boolean): boolean {
  if (apiKey === undefined) return true;
  return azure ? request.headers['api-key'] === apiKey : request.headers.authorization === `Bearer ${apiKey}`;
}

function notFound(method: string, path: string): Answer {
  return errorAnswer(404, `Invalid URL (${method} ${path})`, null, null);
}

function azure(request: FakeRequest, context: DialectContext): Answer {
  const { method, path } = request;
  const target = method === 'POST' ? azureRoute(path) : undefined;
  if (target === undefined) return notFound(method, path);
  const query = queryOf(request);
  // Without the query (the server did not pass it) the check cannot be made and is skipped.
  if (target.needsApiVersion && query !== undefined && !new URLSearchParams(query).get('api-version')) {
    return errorAnswer(404, 'Resource not found: the api-version query parameter is required.', null, '404');
  }
  if (!isRecord(request.body)) {
    return errorAnswer(400, 'We could not parse the JSON body of your request. Expected a JSON object.', null, null);
  }
  // Classic: Azure ignores `model`, the deployment in the path selects it. v1: `model` does.
  return target.handler(target.deployment === undefined ? request.body : { ...request.body, model: target.deployment }, context);
}

function route(request: FakeRequest, context: DialectContext): Answer {
  const { method, path } = request;
  // vLLM's health route: outside /v1 and never authenticated (protocols.md §3).
  if (method === 'GET' && path === '/health') return { kind: 'empty', status: 200 };
  const isAzure = path.startsWith('/openai/');
  if (!authorized(request, context.apiKey, isAzure)) {
    return errorAnswer(401, 'Incorrect API key provided.', null, 'invalid_api_key');
  }
  if (isAzure) return azure(request, context);
  if (method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models/'))) return models(path, context);
  const handler = method === 'POST' ? POST_ROUTES.get(path) : undefined;
  if (handler === undefined) return notFound(method, path);
  if (!isRecord(request.body)) {
    return errorAnswer(400, 'We could not parse the JSON body of your request. Expected a JSON object.', null, null);
  }
  return handler(request.body, context);
}

/**
 * The OpenAI dialect (also what vLLM speaks): chat completions, legacy completions, embeddings,
 * models, the Responses API (openai-responses.ts); plus Azure's classic
 * `/openai/deployments/{deployment}/…?api-version=`, `/openai/responses?api-version=` and
 * `/openai/v1/…` paths.
 */
export const openAiDialect: FakeDialect = {
  name: 'openai',
  basePath: '/v1',
  isInference: (method, path) => {
    if (method !== 'POST') return false;
    const endpoint = POST_ROUTES.has(path) ? path.slice('/v1/'.length) : azureRoute(path)?.endpoint;
    return endpoint !== undefined && !COUNT_ENDPOINTS.has(endpoint);
  },
  answer: route,
  errorBody: (status, message) => openAiError(status, message),
  errorEvent: (message) => `data: ${JSON.stringify(openAiError(500, message))}\n\n`,
  commonHeaders: (context) => ({ 'x-request-id': `req_fake_${context.sequence}` }),
};
