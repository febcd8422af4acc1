import type { Answer, DialectContext, FakeDialect, FakeRequest } from './exchange.js';
import { countWords, defaultReply, embeddingVector, splitPieces, truncateWords } from './reply.js';
import { sampleFromSchema } from './schema-sample.js';
import { isRecord } from '../../is-record.js';

/**
 * Ollama's native API as the gateway meets it: `POST /api/chat` (NDJSON unless `stream:false`,
 * because Ollama streams by default; the last line is `done:true` with `done_reason` and counts
 * and nanosecond durations), `POST /api/embed`, `GET /api/tags`, `GET /api/version` and `GET /`.
 * Errors are `{"error":"…"}`; a failure mid-stream is a last `{"error":"…"}` line under the 200.
 * Tool calls carry object arguments and no ids; images must be bare base64.
 */

export const FAKE_OLLAMA_VERSION = '0.13.0';

const STATUS_MESSAGES: Record<number, string> = {
  400: 'invalid request',
  404: 'not found',
  429: 'server busy, please try again.  maximum pending requests exceeded',
  500: 'an error was encountered while running the model',
  502: 'an error was encountered while running the model: unexpected EOF',
  503: 'server busy, please try again.  maximum pending requests exceeded',
};

export interface OllamaErrorBody {
  error: string;
}

const errorAnswer = (status: number, message: string): Answer => ({ kind: 'json', status, body: { error: message } satisfies OllamaErrorBody });


/** Go's time.Time JSON with nanoseconds, as Ollama writes `created_at`. */
function createdAt(context: DialectContext, n: number): string {
  return new Date(context.nowSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, `.${String(123456789 + n).padStart(9, '0')}Z`);
}

function checkModel(body: Record<string, unknown>, context: DialectContext): Answer | string {
  const model = body['model'];
  if (typeof model !== 'string' || model === '') return errorAnswer(400, 'model is required');
  if (context.models !== undefined && !context.models.includes(model)) return errorAnswer(404, `model "${model}" not found, try pulling it first`);
  return model;
}

function validateMessages(messages: unknown): Answer | undefined {
  if (messages === undefined) return undefined;
  if (!Array.isArray(messages)) return errorAnswer(400, 'json: cannot unmarshal object into Go struct field ChatRequest.messages of type []api.Message');
  for (const m of messages) {
    if (!isRecord(m)) return errorAnswer(400, 'json: cannot unmarshal into Go struct field ChatRequest.messages of type api.Message');
    if (m['content'] !== undefined && typeof m['content'] !== 'string') {
      return errorAnswer(400, `json: cannot unmarshal ${Array.isArray(m['content']) ? 'array' : 'object'} into Go struct field Message.messages.content of type string`);
    }
    for (const image of Array.isArray(m['images']) ? m['images'] : []) {
      // Ollama decodes images as plain base64: a data URL fails at its first ':'.
      if (typeof image !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(image)) return errorAnswer(400, 'illegal base64 data at input byte 4');
    }
    for (const call of Array.isArray(m['tool_calls']) ? m['tool_calls'] : []) {
      if (isRecord(call) && isRecord(call['function']) && typeof call['function']['arguments'] === 'string') {
        return errorAnswer(400, 'json: cannot unmarshal string into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments');
      }
    }
  }
  return undefined;
}

interface Plan {
  model: string;
  pieces: string[];
  call: { name: string; arguments: unknown } | undefined;
  doneReason: 'stop' | 'length';
  promptTokens: number;
  evalCount: number;
}

function planChat(body: Record<string, unknown>, model: string, context: DialectContext): Plan {
  const messages = (Array.isArray(body['messages']) ? body['messages'] : []) as Array<Record<string, unknown>>;
  const text = (m: Record<string, unknown> | undefined): string => (typeof m?.['content'] === 'string' ? m['content'] : '');
  const lastUser = messages.filter((m) => m['role'] === 'user').at(-1);
  const tools = Array.isArray(body['tools']) ? body['tools'] : [];
  const fn = tools.map((t) => (isRecord(t) && isRecord(t['function']) ? t['function'] : undefined)).find((f) => f !== undefined);
  const answered = messages.at(-1)?.['role'] === 'tool';
  const call = fn !== undefined && !answered ? { name: String(fn['name']), arguments: fn['parameters'] === undefined ? {} : sampleFromSchema(fn['parameters']) } : undefined;
  const format = body['format'];
  const reply = context.behaviour.reply ?? defaultReply(context.fakeName, text(lastUser));
  let content = isRecord(format) ? JSON.stringify(sampleFromSchema(format)) : format === 'json' ? JSON.stringify({ reply }) : reply;
  let doneReason: Plan['doneReason'] = 'stop';
  const options = isRecord(body['options']) ? body['options'] : {};
  const max = options['num_predict'];
  if (call === undefined && typeof max === 'number' && Number.isInteger(max) && max > 0) {
    const cut = truncateWords(content, max);
    content = cut.text;
    if (cut.truncated) doneReason = 'length';
  }
  return {
    model,
    pieces: call === undefined ? splitPieces(content, context.behaviour.chunks) : [],
    call,
    doneReason,
    // A stand-in for the chat template's tokens: words plus 4 per message.
    promptTokens: messages.reduce((sum, m) => sum + countWords(text(m)) + 4, 0),
    evalCount: call === undefined ? countWords(content) : 12,
  };
}

/** The `done:true` statistics; all durations in nanoseconds. */
function stats(p: Plan): Record<string, unknown> {
  const load = 1_523_400;
  const promptEval = p.promptTokens * 1_250_000;
  const evalDuration = p.evalCount * 21_000_000;
  return {
    done_reason: p.doneReason,
    done: true,
    total_duration: load + promptEval + evalDuration + 3_100_000,
    load_duration: load,
    prompt_eval_count: p.promptTokens,
    prompt_eval_duration: promptEval,
    eval_count: p.evalCount,
    eval_duration: evalDuration,
  };
}

function chat(body: Record<string, unknown>, context: DialectContext): Answer {
  const model = checkModel(body, context);
  if (typeof model !== 'string') return model;
  const bad = validateMessages(body['messages']);
  if (bad) return bad;
  const format = body['format'];
  if (format !== undefined && format !== '' && format !== 'json' && !isRecord(format)) return errorAnswer(400, `invalid format: ${JSON.stringify(format)}`);
  const p = planChat(body, model, context);
  const toolCalls = p.call === undefined ? undefined : [{ function: { name: p.call.name, arguments: p.call.arguments } }];
  if (body['stream'] === false) {
    const message = { role: 'assistant', content: p.pieces.join(''), ...(toolCalls ? { tool_calls: toolCalls } : {}) };
    return { kind: 'json', status: 200, body: { model, created_at: createdAt(context, 0), message, ...stats(p) } };
  }
  const lines: string[] = [];
  const line = (obj: object): string => `${JSON.stringify(obj)}\n`;
  p.pieces.forEach((piece, i) => lines.push(line({ model, created_at: createdAt(context, i), message: { role: 'assistant', content: piece }, done: false })));
  if (toolCalls) lines.push(line({ model, created_at: createdAt(context, 0), message: { role: 'assistant', content: '', tool_calls: toolCalls }, done: false }));
  lines.push(line({ model, created_at: createdAt(context, lines.length), message: { role: 'assistant', content: '' }, ...stats(p) }));
  return { kind: 'stream', contentType: 'application/x-ndjson', events: lines };
}

function embed(body: Record<string, unknown>, context: DialectContext): Answer {
  const model = checkModel(body, context);
  if (typeof model !== 'string') return model;
  const input = body['input'];
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((x) => typeof x === 'string') ? (input as string[]) : undefined;
  if (texts === undefined) return errorAnswer(400, 'invalid input type');
  const dims = body['dimensions'];
  const d = typeof dims === 'number' && Number.isInteger(dims) && dims > 0 ? dims : 16;
  const promptTokens = texts.reduce((sum, t) => sum + countWords(t), 0);
  return {
    kind: 'json',
    status: 200,
    body: { model, embeddings: texts.map((t) => embeddingVector(t, d)), total_duration: 14_143_917, load_duration: 1_019_500, prompt_eval_count: promptTokens },
  };
}

function route(request: FakeRequest, context: DialectContext): Answer {
  const { method, path } = request;
  if (method === 'GET' && path === '/') return { kind: 'json', status: 200, body: 'Ollama is running' };
  if (method === 'GET' && path === '/api/version') return { kind: 'json', status: 200, body: { version: FAKE_OLLAMA_VERSION } };
  if (method === 'GET' && path === '/api/tags') {
    const models = (context.models ?? ['llama3.2']).map((name) => ({ name, model: name, modified_at: '2026-11-01T10:00:00.000000000Z', size: 2019393189, digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72', details: { format: 'gguf', family: 'llama', parameter_size: '3.2B', quantization_level: 'Q4_K_M' } }));
    return { kind: 'json', status: 200, body: { models } };
  }
  if (method !== 'POST' || (path !== '/api/chat' && path !== '/api/embed')) return { kind: 'json', status: 404, body: '404 page not found' };
  if (!isRecord(request.body)) return errorAnswer(400, 'invalid character looking for beginning of value');
  return path === '/api/chat' ? chat(request.body, context) : embed(request.body, context);
}

export const ollamaDialect: FakeDialect = {
  name: 'ollama',
  basePath: '',
  isInference: (method, path) => method === 'POST' && (path === '/api/chat' || path === '/api/embed'),
  answer: route,
  errorBody: (status, message): OllamaErrorBody => ({ error: message ?? STATUS_MESSAGES[status] ?? `HTTP ${status}` }),
  errorEvent: (message) => `${JSON.stringify({ error: message } satisfies OllamaErrorBody)}\n`,
  commonHeaders: () => ({}),
};
