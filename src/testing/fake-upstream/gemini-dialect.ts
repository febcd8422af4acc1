import { decodeSegment } from './exchange.js';
import type { Answer, DialectContext, FakeDialect, FakeRequest } from './exchange.js';
import { countWords, defaultReply, embeddingVector, splitPieces, truncateWords } from './reply.js';
import { sampleFromSchema } from './schema-sample.js';
import { isRecord } from '../../is-record.js';

/**
 * Google's Generative Language API (`/v1beta`) as the gateway meets it: `generateContent`,
 * `streamGenerateContent` (SSE with `alt=sse`, CRLF-framed `data:` events and no `[DONE]`; a
 * streamed JSON array without it), `countTokens`, `embedContent`, `batchEmbedContents` and the model list;
 * `x-goog-api-key` (or `?key=`) auth; RPC-style errors with RetryInfo on 429. Like the real
 * service it rejects unknown fields, roles other than user/model, and (for Gemini 3 models)
 * replayed function calls without a thought signature.
 */

const RPC_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const STATUS_MESSAGES: Record<number, string> = {
  400: 'Request contains an invalid argument.',
  403: 'The caller does not have permission',
  404: 'Requested entity was not found.',
  429: 'You exceeded your current quota, please check your plan and billing details.',
  500: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  503: 'The model is overloaded. Please try again later.',
  504: 'Deadline expired before operation could complete.',
};

/** Retry delay the fake's default 429 body advises (tests pass their own bodies for other values). */
export const FAKE_GEMINI_RETRY_DELAY = '1s';

export interface GeminiErrorBody {
  error: { code: number; message: string; status: string; details?: Array<Record<string, unknown>> };
}

/** A Google RPC error body; 429 carries QuotaFailure and RetryInfo details, as the real one does. */
export function geminiError(status: number, message?: string, retryDelay: string = FAKE_GEMINI_RETRY_DELAY): GeminiErrorBody {
  const error: GeminiErrorBody['error'] = {
    code: status,
    message: message ?? STATUS_MESSAGES[status] ?? `HTTP ${status}`,
    status: RPC_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'),
  };
  if (status === 429) {
    error.details = [
      { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier' }] },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay },
    ];
  }
  return { error };
}

const errorAnswer = (status: number, message?: string): Answer => ({ kind: 'json', status, body: geminiError(status, message) });

const REQUEST_FIELDS = new Set(['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig', 'safetySettings', 'cachedContent']);
const GENERATION_FIELDS = new Set([
  'stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'responseModalities', 'candidateCount', 'maxOutputTokens',
  'temperature', 'topP', 'topK', 'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs', 'logprobs', 'thinkingConfig', 'mediaResolution',
]);


function unknownField(obj: Record<string, unknown>, known: ReadonlySet<string>, at: string): Answer | undefined {
  const bad = Object.keys(obj).find((k) => !known.has(k));
  return bad === undefined ? undefined : errorAnswer(400, `Invalid JSON payload received. Unknown name "${bad}"${at}: Cannot find field.`);
}

/** Checks the request the way the service does, as far as a translator can get it wrong. */
function validate(body: Record<string, unknown>, model: string): Answer | undefined {
  const unknown = unknownField(body, REQUEST_FIELDS, '');
  if (unknown) return unknown;
  if (isRecord(body['generationConfig'])) {
    const bad = unknownField(body['generationConfig'], GENERATION_FIELDS, ' at \'generation_config\'');
    if (bad) return bad;
  }
  const contents = body['contents'];
  if (!Array.isArray(contents) || contents.length === 0) return errorAnswer(400, '* GenerateContentRequest.contents: contents is not specified\n');
  for (const [i, content] of contents.entries()) {
    if (!isRecord(content) || !Array.isArray(content['parts']) || content['parts'].length === 0) {
      return errorAnswer(400, `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`);
    }
    if (content['role'] !== undefined && content['role'] !== 'user' && content['role'] !== 'model') {
      return errorAnswer(400, 'Please use a valid role: user, model.');
    }
    const calls = (content['parts'] as unknown[]).filter((p) => isRecord(p) && isRecord(p['functionCall']));
    const first = calls[0];
    if (/gemini-3/.test(model) && isRecord(first) && typeof first['thoughtSignature'] !== 'string') {
      const name = isRecord(first['functionCall']) ? String(first['functionCall']['name']) : '';
      return errorAnswer(400, `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${name}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`);
    }
  }
  return undefined;
}

function partsText(parts: unknown): string {
  return Array.isArray(parts) ? parts.map((p) => (isRecord(p) && typeof p['text'] === 'string' ? p['text'] : '')).join(' ') : '';
}

interface Plan {
  /** Per candidate: text pieces, or one function call. */
  pieces: string[];
  call: { name: string; args: unknown } | undefined;
  finishReason: 'STOP' | 'MAX_TOKENS';
  candidates: number;
  promptTokens: number;
  outputTokens: number;
  thoughts: number | undefined;
}

/** Calls the first declared function unless the conversation already answered one or mode is NONE. */
function plannedCall(body: Record<string, unknown>, contents: Array<Record<string, unknown>>): Plan['call'] {
  const tools = Array.isArray(body['tools']) ? body['tools'] : [];
  const declarations = tools.flatMap((t) => (isRecord(t) && Array.isArray(t['functionDeclarations']) ? t['functionDeclarations'] : []));
  const config = isRecord(body['toolConfig']) && isRecord(body['toolConfig']['functionCallingConfig']) ? body['toolConfig']['functionCallingConfig'] : {};
  if (declarations.length === 0 || config['mode'] === 'NONE') return undefined;
  const last = contents.at(-1);
  const answered = Array.isArray(last?.['parts']) && (last['parts'] as unknown[]).some((p) => isRecord(p) && p['functionResponse'] !== undefined);
  if (answered) return undefined;
  const allowed = Array.isArray(config['allowedFunctionNames']) ? config['allowedFunctionNames'] : undefined;
  const decl = declarations.find((d) => isRecord(d) && (allowed === undefined || allowed.includes(d['name']))) as Record<string, unknown> | undefined;
  if (decl === undefined) return undefined;
  const schema = decl['parametersJsonSchema'] ?? decl['parameters'];
  return { name: String(decl['name']), args: schema === undefined ? {} : sampleFromSchema(schema) };
}

function plan(body: Record<string, unknown>, model: string, context: DialectContext): Plan {
  const contents = body['contents'] as Array<Record<string, unknown>>;
  const config = isRecord(body['generationConfig']) ? body['generationConfig'] : {};
  const lastUser = contents.filter((c) => c['role'] !== 'model').at(-1);
  const call = plannedCall(body, contents);
  const schema = config['responseJsonSchema'] ?? config['responseSchema'];
  let text =
    config['responseMimeType'] === 'application/json'
      ? JSON.stringify(schema === undefined ? { reply: context.behaviour.reply ?? defaultReply(context.fakeName, partsText(lastUser?.['parts'])) } : sampleFromSchema(schema))
      : (context.behaviour.reply ?? defaultReply(context.fakeName, partsText(lastUser?.['parts'])));
  let finishReason: Plan['finishReason'] = 'STOP';
  const max = config['maxOutputTokens'];
  if (call === undefined && typeof max === 'number' && Number.isInteger(max) && max > 0) {
    const cut = truncateWords(text, max);
    text = cut.text;
    if (cut.truncated) finishReason = 'MAX_TOKENS';
  }
  const system = isRecord(body['systemInstruction']) ? partsText(body['systemInstruction']['parts']) : '';
  const promptTokens = contents.reduce((sum, c) => sum + countWords(partsText(c['parts'])) + 1, countWords(system));
  const candidates = typeof config['candidateCount'] === 'number' ? config['candidateCount'] : 1;
  return {
    pieces: call === undefined ? splitPieces(text, context.behaviour.chunks) : [],
    call,
    finishReason,
    candidates,
    promptTokens,
    outputTokens: call === undefined ? countWords(text) * candidates : 3,
    // Thinking models report thoughts separately from candidates (and inside totalTokenCount).
    thoughts: /gemini-(2\.5|3)/.test(model) ? 7 : undefined,
  };
}

function usageMetadata(p: Plan, outputSoFar: number): Record<string, unknown> {
  const usage: Record<string, unknown> = {
    promptTokenCount: p.promptTokens,
    candidatesTokenCount: outputSoFar,
    totalTokenCount: p.promptTokens + outputSoFar + (p.thoughts ?? 0),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: p.promptTokens }],
  };
  if (p.thoughts !== undefined) usage['thoughtsTokenCount'] = p.thoughts;
  return usage;
}

/** The function-call part; Gemini 3 signs it, and wants the signature back on replay. */
function callPart(p: Plan, model: string, sequence: number): Record<string, unknown> {
  const part: Record<string, unknown> = { functionCall: { name: p.call?.name, args: p.call?.args } };
  if (/gemini-3/.test(model)) part['thoughtSignature'] = Buffer.from(`fake-signature-${sequence}`).toString('base64');
  return part;
}

function response(p: Plan, model: string, context: DialectContext, parts: Array<Record<string, unknown>>, finish: boolean, outputSoFar: number): Record<string, unknown> {
  const candidates = Array.from({ length: p.candidates }, (_, index) => ({
    content: { parts, role: 'model' },
    ...(finish ? { finishReason: p.finishReason } : {}),
    index,
  }));
  return { candidates, usageMetadata: usageMetadata(p, outputSoFar), modelVersion: model, responseId: `fakeResp${context.sequence}` };
}

function generate(body: Record<string, unknown>, model: string, stream: 'sse' | 'array' | undefined, context: DialectContext): Answer {
  const invalid = validate(body, model);
  if (invalid) return invalid;
  const p = plan(body, model, context);
  if (stream === undefined) {
    const parts = p.call !== undefined ? [callPart(p, model, context.sequence)] : [{ text: p.pieces.join('') }];
    return { kind: 'json', status: 200, body: response(p, model, context, parts, true, p.outputTokens) };
  }
  const bodies: Array<Record<string, unknown>> = [];
  if (p.call !== undefined) {
    bodies.push(response(p, model, context, [callPart(p, model, context.sequence)], true, p.outputTokens));
  } else {
    let words = 0;
    p.pieces.forEach((piece, i) => {
      words += countWords(piece);
      const last = i === p.pieces.length - 1;
      bodies.push(response(p, model, context, [{ text: piece }], last, last ? p.outputTokens : words * p.candidates));
    });
  }
  if (stream === 'sse') {
    // Google frames SSE with CRLF line ends; there is no [DONE], the response just ends.
    return { kind: 'stream', contentType: 'text/event-stream', events: bodies.map((b) => `data: ${JSON.stringify(b)}\r\n\r\n`) };
  }
  // Without alt=sse the service streams one JSON array, element by element.
  const events = bodies.map((b, i) => `${i === 0 ? '[' : ',\r\n'}${JSON.stringify(b)}`);
  events.push(']');
  return { kind: 'stream', contentType: 'application/json; charset=UTF-8', events };
}

function embedValues(content: unknown, dims: unknown): number[] | undefined {
  if (!isRecord(content)) return undefined;
  const d = typeof dims === 'number' && Number.isInteger(dims) && dims > 0 ? dims : 16;
  return embeddingVector(partsText(content['parts']), d);
}

function embed(body: Record<string, unknown>, model: string, batch: boolean): Answer {
  if (!batch) {
    const values = embedValues(body['content'], body['outputDimensionality']);
    return values === undefined ? errorAnswer(400, '* EmbedContentRequest.content: content is not specified\n') : { kind: 'json', status: 200, body: { embedding: { values } } };
  }
  const requests = body['requests'];
  if (!Array.isArray(requests) || requests.length === 0) return errorAnswer(400, '* BatchEmbedContentsRequest.requests: requests is not specified\n');
  const embeddings = [];
  for (const [i, r] of requests.entries()) {
    if (!isRecord(r) || r['model'] !== `models/${model}`) {
      return errorAnswer(400, `* BatchEmbedContentsRequest.model: Model in request ${i} does not match the model in the URL: models/${model}\n`);
    }
    const values = embedValues(r['content'], r['outputDimensionality']);
    if (values === undefined) return errorAnswer(400, `* BatchEmbedContentsRequest.requests[${i}].content: content is not specified\n`);
    embeddings.push({ values });
  }
  return { kind: 'json', status: 200, body: { embeddings } };
}

const METHOD_ROUTE = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents)$/;
/** `:countTokens` generates nothing: not an inference route (no stats, no faults). */
const COUNT_ROUTE = /^\/v1beta\/models\/([^/:]+):countTokens$/;

/**
 * `countTokens`: `{contents}` or `{generateContentRequest}` (validated like generateContent, its
 * `model` naming the same model), counted like generateContent's promptTokenCount.
 */
function countTokens(body: Record<string, unknown>, model: string): Answer {
  const unknown = unknownField(body, new Set(['contents', 'generateContentRequest']), '');
  if (unknown) return unknown;
  const inner: Record<string, unknown> = isRecord(body['generateContentRequest']) ? { ...body['generateContentRequest'] } : { contents: body['contents'] };
  if (inner['model'] !== undefined && inner['model'] !== `models/${model}`) return errorAnswer(400, '* CountTokensRequest.generate_content_request.model: the model must match the model in the path\n');
  delete inner['model'];
  const invalid = validate(inner, model);
  if (invalid) return invalid;
  const contents = inner['contents'] as Array<Record<string, unknown>>;
  const system = isRecord(inner['systemInstruction']) ? partsText(inner['systemInstruction']['parts']) : '';
  const totalTokens = contents.reduce((sum, c) => sum + countWords(partsText(c['parts'])) + 1, countWords(system));
  return { kind: 'json', status: 200, body: { totalTokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: totalTokens }] } };
}

function modelEntry(id: string): object {
  return {
    name: `models/${id}`,
    version: '001',
    displayName: id,
    inputTokenLimit: 1048576,
    outputTokenLimit: 65536,
    supportedGenerationMethods: ['generateContent', 'countTokens', 'embedContent', 'batchEmbedContents'],
  };
}

function authorized(request: FakeRequest, apiKey: string | undefined): Answer | undefined {
  if (apiKey === undefined) return undefined;
  const given = request.headers['x-goog-api-key'] ?? new URLSearchParams(request.query ?? '').get('key') ?? undefined;
  if (given === undefined) {
    return errorAnswer(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
  }
  if (given === apiKey) return undefined;
  const body = geminiError(400, 'API key not valid. Please pass a valid API key.');
  body.error.details = [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
    { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
  ];
  return { kind: 'json', status: 400, body };
}

function route(request: FakeRequest, context: DialectContext): Answer {
  const { method, path } = request;
  const denied = authorized(request, context.apiKey);
  if (denied) return denied;
  const known = context.models ?? ['gemini-2.5-flash'];
  if (method === 'GET' && path === '/v1beta/models') return { kind: 'json', status: 200, body: { models: known.map(modelEntry) } };
  const match = METHOD_ROUTE.exec(path) ?? COUNT_ROUTE.exec(path);
  if (match === null || method !== 'POST') return errorAnswer(404, `Method not found.`);
  const model = decodeSegment(match[1] ?? '');
  const action = match[2] ?? 'countTokens';
  if (context.models !== undefined && !context.models.includes(model)) {
    return errorAnswer(404, `models/${model} is not found for API version v1beta, or is not supported for ${action}. Call ListModels to see the list of available models and their supported methods.`);
  }
  if (!isRecord(request.body)) return errorAnswer(400, 'Invalid JSON payload received. Expected an object.');
  switch (action) {
    case 'generateContent':
      return generate(request.body, model, undefined, context);
    case 'countTokens':
      return countTokens(request.body, model);
    case 'streamGenerateContent':
      return generate(request.body, model, new URLSearchParams(request.query ?? '').get('alt') === 'sse' ? 'sse' : 'array', context);
    default:
      return embed(request.body, model, action === 'batchEmbedContents');
  }
}

export const geminiDialect: FakeDialect = {
  name: 'gemini',
  basePath: '/v1beta',
  isInference: (method, path) => method === 'POST' && METHOD_ROUTE.test(path),
  answer: route,
  errorBody: (status, message) => geminiError(status, message),
  errorEvent: (message) => `data: ${JSON.stringify(geminiError(500, message))}\r\n\r\n`,
  commonHeaders: () => ({ server: 'scaffolding on HTTPServer2', vary: 'Origin, X-Origin, Referer' }),
};
