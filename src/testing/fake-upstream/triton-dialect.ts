import { decodeSegment } from './exchange.js';
import type { Answer, DialectContext, FakeDialect, FakeRequest } from './exchange.js';
import { defaultReply, splitPieces, truncateWords } from './reply.js';
import { isRecord } from '../../is-record.js';

/** Triton's error body: a bare string (protocols.md §4.1). */
export interface TritonErrorBody {
  error: string;
}

/** The version string the fake reports from `GET /v2`. */
export const FAKE_TRITON_VERSION = '2.59.0';

// What a recent Triton lists; the gateway only looks for "generate".
const EXTENSIONS = [
  'classification',
  'sequence',
  'model_repository',
  'model_repository(unload_dependents)',
  'schedule_policy',
  'model_configuration',
  'system_shared_memory',
  'cuda_shared_memory',
  'binary_tensor_data',
  'parameters',
  'statistics',
  'trace',
  'logging',
  'generate',
];

const STATUS_MESSAGES: Record<number, string> = {
  400: 'Bad request',
  404: 'Not Found',
  429: 'Exceeds maximum queue size',
  500: 'Internal server error',
  503: 'Server not ready',
};

const MODEL_ROUTE = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(generate|generate_stream|ready))?$/;

function errorAnswer(status: number, message: string): Answer {
  return { kind: 'json', status, body: { error: message } satisfies TritonErrorBody };
}


function unknownModel(model: string): Answer {
  return errorAnswer(400, `Request for unknown model: '${model}' is not found`);
}

function modelMetadata(model: string, version: string | undefined): Answer {
  const tensor = (name: string, datatype: string): object => ({ name, datatype, shape: [-1, -1] });
  const body = {
    name: model,
    versions: [version ?? '1'],
    platform: 'ensemble',
    inputs: [tensor('text_input', 'BYTES'), tensor('max_tokens', 'INT32'), tensor('stream', 'BOOL')],
    outputs: [tensor('text_output', 'BYTES')],
  };
  return { kind: 'json', status: 200, body };
}

function generate(
  body: unknown,
  target: { model: string; version: string; stream: boolean },
  context: DialectContext,
): Answer {
  if (!isRecord(body)) return errorAnswer(400, 'failed to parse the request JSON buffer: expected an object');
  const textInput = body['text_input'];
  if (typeof textInput !== 'string') return errorAnswer(400, "missing or invalid input 'text_input': expected a string");
  let text = context.behaviour.reply ?? defaultReply(context.fakeName, textInput);
  const maxTokens = body['max_tokens'];
  if (typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens > 0) {
    text = truncateWords(text, maxTokens).text;
  }
  const result = (textOutput: string): object => ({
    model_name: target.model,
    model_version: target.version,
    text_output: textOutput,
  });
  if (!target.stream) return { kind: 'json', status: 200, body: result(text) };
  // Each event's text_output is a delta; the stream ends when the response ends (no [DONE]).
  const events = splitPieces(text, context.behaviour.chunks).map((piece) => `data: ${JSON.stringify(result(piece))}\n\n`);
  return { kind: 'stream', contentType: 'text/event-stream; charset=utf-8', events };
}

function modelRoute(request: FakeRequest, context: DialectContext): Answer | undefined {
  const match = MODEL_ROUTE.exec(request.path);
  if (match === null) return undefined;
  const model = decodeSegment(match[1] ?? '');
  const version = match[2];
  const action = match[3];
  const isPost = request.method === 'POST';
  if ((action === 'generate' || action === 'generate_stream') !== isPost) return undefined;
  if (context.models !== undefined && !context.models.includes(model)) return unknownModel(model);
  switch (action) {
    case undefined:
      return modelMetadata(model, version);
    case 'ready':
      return { kind: 'empty', status: 200 };
    default:
      return generate(request.body, { model, version: version ?? '1', stream: action === 'generate_stream' }, context);
  }
}

function route(request: FakeRequest, context: DialectContext): Answer {
  const { method, path } = request;
  if (method === 'GET' && (path === '/v2/health/live' || path === '/v2/health/ready')) {
    return { kind: 'empty', status: 200 };
  }
  if (method === 'GET' && path === '/v2') {
    return { kind: 'json', status: 200, body: { name: 'triton', version: FAKE_TRITON_VERSION, extensions: EXTENSIONS } };
  }
  return modelRoute(request, context) ?? errorAnswer(404, 'Not Found');
}

/** Triton's generate extension plus the KServe v2 health and metadata routes. */
export const tritonDialect: FakeDialect = {
  name: 'triton',
  basePath: '',
  isInference: (method, path) => method === 'POST' && /\/(generate|generate_stream)$/.test(path) && MODEL_ROUTE.test(path),
  answer: route,
  errorBody: (status, message): TritonErrorBody => ({ error: message ?? STATUS_MESSAGES[status] ?? `HTTP ${status}` }),
  errorEvent: (message) => `data: ${JSON.stringify({ error: message } satisfies TritonErrorBody)}\n\n`,
  commonHeaders: () => ({}),
};
