import { eventFrame, exceptionFrame } from './bedrock-frames.js';
import { converseValidationError } from './bedrock-validate.js';
import { decodeSegment } from './exchange.js';
import type { Answer, DialectContext, FakeDialect, FakeRequest } from './exchange.js';
import { countWords, defaultReply, splitPieces, truncateWords } from './reply.js';
import { parseSigV4, verifySigV4 } from './sigv4-verify.js';
import { isRecord } from '../../is-record.js';

/**
 * A fake Bedrock runtime speaking Converse and ConverseStream (protocols.md §5.3): SigV4
 * `Authorization` required on every call (and verified when the fake knows the secret key),
 * JSON errors with the type in `x-amzn-errortype`, and streams as binary AWS event-stream
 * messages with `metadata` (the usage) after `messageStop`, as the real service sends them.
 *
 * Replies are deterministic: text as the other fakes make it; when tools are offered and the
 * last user turn holds no tool result, a call of the named tool (else the first one) whose
 * input is the configured reply if that is a JSON object, else `{"text": reply}`.
 */

/** The access key id tests sign with; any id is accepted, this one is just conventional. */
export const FAKE_AWS_ACCESS_KEY_ID = 'AKIDFAKEBEDROCK00001';

const ERROR_TYPES: Record<number, { type: string; message: string }> = {
  400: { type: 'ValidationException', message: 'Malformed input request, please reformat your input and try again.' },
  403: { type: 'AccessDeniedException', message: "You don't have access to the model with the specified model ID." },
  404: { type: 'ResourceNotFoundException', message: 'The requested resource could not be found.' },
  408: { type: 'ModelTimeoutException', message: 'The request took too long to process.' },
  413: { type: 'ValidationException', message: 'Input is too long for requested model.' },
  424: { type: 'ModelErrorException', message: 'The model encountered an error while processing the request.' },
  429: { type: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' },
  500: { type: 'InternalServerException', message: 'The server encountered an internal error.' },
  503: { type: 'ServiceUnavailableException', message: 'The service is temporarily unavailable.' },
};

function errorType(status: number): string {
  return ERROR_TYPES[status]?.type ?? (status >= 500 ? 'InternalServerException' : 'ValidationException');
}

function errorHeaders(status: number): Record<string, string> {
  if (status < 400) return {};
  return { 'x-amzn-errortype': `${errorType(status)}:http://internal.amazon.com/coral/com.amazon.bedrock/` };
}

function errorAnswer(status: number, message: string, type?: string): Answer {
  const headers = type === undefined ? errorHeaders(status) : { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.coral.service/` };
  return { kind: 'json', status, body: { message }, headers };
}


const ROUTE = /^\/model\/([^/]+)\/(converse|converse-stream)$/;

/** Checks the signature: its shape always, the signature itself when the secret is configured. */
function authError(request: FakeRequest, context: DialectContext): Answer | undefined {
  const req = { method: request.method, path: request.path, headers: request.headers, body: request.raw ?? '' };
  const result = context.apiKey === undefined ? parseSigV4(req, 'bedrock') : verifySigV4(req, 'bedrock', context.apiKey, context.nowSeconds * 1000);
  if (result.ok) return undefined;
  const type = result.reason === 'missing' ? 'MissingAuthenticationTokenException' : result.reason === 'malformed' ? 'IncompleteSignatureException' : 'InvalidSignatureException';
  return errorAnswer(403, result.message, type);
}

/** The text of a message's text blocks. */
function blockText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content.map((b) => (isRecord(b) && typeof b['text'] === 'string' ? b['text'] : '')).join(' ');
}

interface ToolPlan {
  id: string;
  name: string;
  input: string;
}

interface Plan {
  text: string;
  tool: ToolPlan | undefined;
  stopReason: 'end_turn' | 'max_tokens' | 'tool_use';
  usage: { inputTokens: number; outputTokens: number; totalTokens: number; cacheReadInputTokens: number; cacheWriteInputTokens: number };
}

function toolToCall(body: Record<string, unknown>, lastUser: Record<string, unknown> | undefined): string | undefined {
  const config = body['toolConfig'];
  if (!isRecord(config) || !Array.isArray(config['tools'])) return undefined;
  const answered = Array.isArray(lastUser?.['content']) && (lastUser['content'] as unknown[]).some((b) => isRecord(b) && 'toolResult' in b);
  if (answered) return undefined;
  const choice = config['toolChoice'];
  if (isRecord(choice) && isRecord(choice['tool']) && typeof choice['tool']['name'] === 'string') return choice['tool']['name'];
  const first = config['tools'][0];
  return isRecord(first) && isRecord(first['toolSpec']) ? String(first['toolSpec']['name']) : undefined;
}

function plan(body: Record<string, unknown>, context: DialectContext): Plan {
  const messages = body['messages'] as Array<Record<string, unknown>>;
  const lastUser = messages.filter((m) => m['role'] === 'user').at(-1);
  const configured = context.behaviour.reply;
  let text = configured ?? defaultReply(context.fakeName, blockText(lastUser?.['content']));
  const systemText = Array.isArray(body['system']) ? blockText(body['system']) : '';
  const inputTokens = messages.reduce((sum, m) => sum + countWords(blockText(m['content'])) + 3, countWords(systemText));
  const usage = (outputTokens: number): Plan['usage'] => ({ inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, cacheReadInputTokens: 0, cacheWriteInputTokens: 0 });
  const toolName = toolToCall(body, lastUser);
  if (toolName !== undefined) {
    const input = parsesAsObject(configured) ? (configured as string) : JSON.stringify({ text });
    return { text: '', tool: { id: `tooluse_fake${context.sequence}`, name: toolName, input }, stopReason: 'tool_use', usage: usage(countWords(input)) };
  }
  if (body['outputConfig'] !== undefined && !parsesAsObject(text)) text = JSON.stringify({ text });
  let stopReason: Plan['stopReason'] = 'end_turn';
  const inference = body['inferenceConfig'];
  const maxTokens = isRecord(inference) ? inference['maxTokens'] : undefined;
  if (typeof maxTokens === 'number') {
    const cut = truncateWords(text, maxTokens);
    text = cut.text;
    if (cut.truncated) stopReason = 'max_tokens';
  }
  return { text, tool: undefined, stopReason, usage: usage(countWords(text)) };
}

function parsesAsObject(text: string | undefined): boolean {
  if (text === undefined) return false;
  try {
    return isRecord(JSON.parse(text));
  } catch {
    return false;
  }
}

/** Real ConverseStream events carry a `p` field of padding (against length side channels). */
function padded(payload: Record<string, unknown>, n: number): Record<string, unknown> {
  return { ...payload, p: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0'.slice(0, 1 + (n % 50)) };
}

function converse(p: Plan): Answer {
  const content = p.tool ? [{ toolUse: { toolUseId: p.tool.id, name: p.tool.name, input: JSON.parse(p.tool.input) as unknown } }] : [{ text: p.text }];
  return { kind: 'json', status: 200, body: { output: { message: { role: 'assistant', content } }, stopReason: p.stopReason, usage: p.usage, metrics: { latencyMs: 1 } } };
}

function converseStream(p: Plan, chunks: number): Answer {
  const events: Uint8Array[] = [];
  const push = (type: string, payload: Record<string, unknown>): void => void events.push(eventFrame(type, padded(payload, events.length)));
  push('messageStart', { role: 'assistant' });
  if (p.tool) {
    push('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: p.tool.id, name: p.tool.name } } });
    for (const piece of splitPieces(p.tool.input, chunks)) push('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: piece } } });
  } else {
    for (const piece of splitPieces(p.text, chunks)) push('contentBlockDelta', { contentBlockIndex: 0, delta: { text: piece } });
  }
  push('contentBlockStop', { contentBlockIndex: 0 });
  push('messageStop', { stopReason: p.stopReason });
  // The usage comes last, after messageStop: a client that stops reading at messageStop loses it.
  push('metadata', { usage: p.usage, metrics: { latencyMs: 1 } });
  return { kind: 'stream', contentType: 'application/vnd.amazon.eventstream', events };
}

function answer(request: FakeRequest, context: DialectContext): Answer {
  const match = ROUTE.exec(request.path);
  if (request.method !== 'POST' || match === null) return errorAnswer(404, 'Not Found', 'UnknownOperationException');
  const denied = authError(request, context);
  if (denied) return denied;
  const modelId = decodeSegment(match[1] ?? '');
  if (context.models !== undefined && !context.models.includes(modelId)) return errorAnswer(400, 'The provided model identifier is invalid.');
  const problem = converseValidationError(request.body);
  if (problem !== undefined) return errorAnswer(400, problem);
  const p = plan(request.body as Record<string, unknown>, context);
  return match[2] === 'converse' ? converse(p) : converseStream(p, context.behaviour.chunks);
}

export const bedrockDialect: FakeDialect = {
  name: 'bedrock',
  basePath: '',
  isInference: (method, path) => method === 'POST' && ROUTE.test(path),
  answer,
  errorBody: (status, message) => ({ message: message ?? ERROR_TYPES[status]?.message ?? `HTTP ${status}` }),
  errorHeaders,
  // A model failure mid-generation, as Bedrock reports it inside the stream.
  errorEvent: (message) => exceptionFrame('modelStreamErrorException', { message, originalStatusCode: 500, originalMessage: message }),
  commonHeaders: (context) => ({ 'x-amzn-requestid': `00000000-0000-4000-8000-${String(context.sequence).padStart(12, '0')}` }),
};
