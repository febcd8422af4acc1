import type { Answer, DialectContext, FakeDialect, FakeRequest } from './exchange.js';
import { countWords, defaultReply, splitPieces, truncateWords } from './reply.js';
import { isRecord } from '../../is-record.js';

/**
 * Anthropic's Messages API as a fake (protocols.md §2): `POST /v1/messages` (and its
 * `/v1/messages/count_tokens`), JSON or SSE with
 * `event:` lines, `ping` after the first block start, cumulative usage in `message_delta`, no
 * `[DONE]`; errors `{"type":"error","error":{type,message},"request_id"}`; `request-id` header.
 * Both auth styles are accepted (x-api-key and Bearer), and `anthropic-version` is required.
 *
 * Deterministic content: the reply is the behaviour's text (or the default echo). When the
 * request forces a tool (`tool_choice` `any` or `tool`), the answer is one `tool_use` block for
 * the first (or named) tool whose input fills each schema property with a fixed value
 * (strings `"fake-<name>"`, numbers 1, booleans true); with `output_config.format` the text is
 * JSON fitting the schema the same way. Tokens are words; text blocks marked with
 * `cache_control` count as cache reads; image blocks are accepted and not counted.
 *
 * Stream "chunks" (for faults) are SSE events: message_start is chunk 1, content_block_start
 * chunk 2, ping chunk 3, then the deltas, content_block_stop, message_delta, message_stop.
 */

const ERROR_TYPES: Record<number, { type: string; message: string }> = {
  400: { type: 'invalid_request_error', message: 'Bad request.' },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  402: { type: 'billing_error', message: 'Your credit balance is too low.' },
  403: { type: 'permission_error', message: 'Your API key does not have permission to use the specified resource.' },
  404: { type: 'not_found_error', message: 'Not found.' },
  413: { type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' },
  429: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit.' },
  500: { type: 'api_error', message: 'Internal server error' },
  504: { type: 'timeout_error', message: 'Request timed out.' },
  529: { type: 'overloaded_error', message: 'Overloaded' },
};

/** Anthropic's error body for a status. */
export function anthropicError(status: number, message?: string, requestId = 'req_fake'): { type: 'error'; error: { type: string; message: string }; request_id: string } {
  const known = ERROR_TYPES[status] ?? { type: status >= 500 ? 'api_error' : 'invalid_request_error', message: `HTTP ${status}` };
  return { type: 'error', error: { type: known.type, message: message ?? known.message }, request_id: requestId };
}


function errorAnswer(status: number, message: string, context: DialectContext): Answer {
  return { kind: 'json', status, body: anthropicError(status, message, requestId(context)) };
}

const requestId = (context: DialectContext): string => `req_fake_${String(context.sequence).padStart(6, '0')}`;

function authorized(request: FakeRequest, apiKey: string | undefined): boolean {
  if (apiKey === undefined) return true;
  return request.headers['x-api-key'] === apiKey || request.headers.authorization === `Bearer ${apiKey}`;
}

/** Text of a content value, and the share of it in blocks marked for caching. */
function contentWords(content: unknown): { words: number; cached: number; text: string } {
  if (typeof content === 'string') return { words: countWords(content), cached: 0, text: content };
  let words = 0;
  let cached = 0;
  let text = '';
  if (Array.isArray(content)) {
    for (const block of content) {
      if (!isRecord(block)) continue;
      const t = block.type === 'text' && typeof block.text === 'string' ? block.text : block.type === 'tool_result' ? contentWords(block.content).text : '';
      const n = countWords(t);
      words += n;
      if (isRecord(block.cache_control)) cached += n;
      text += (text ? ' ' : '') + t;
    }
  }
  return { words, cached, text };
}

function validate(body: unknown, context: DialectContext): Answer | undefined {
  if (!isRecord(body)) return errorAnswer(400, 'The request body is not valid JSON.', context);
  if (typeof body.model !== 'string' || body.model === '') return errorAnswer(400, 'model: Field required', context);
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) {
    return errorAnswer(400, 'max_tokens: Field required', context);
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return errorAnswer(400, 'messages: at least one message is required', context);
  const bad = messages.findIndex((m) => !isRecord(m) || (m.role !== 'user' && m.role !== 'assistant'));
  if (bad >= 0) return errorAnswer(400, `messages.${bad}.role: Input should be 'user' or 'assistant'`, context);
  if (context.models !== undefined && !context.models.includes(body.model)) return errorAnswer(404, `model: ${body.model}`, context);
  return undefined;
}

interface Plan {
  id: string;
  model: string;
  blocks: Array<{ type: 'text'; pieces: string[] } | { type: 'tool_use'; id: string; name: string; pieces: string[] }>;
  stopReason: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';
  stopSequence: string | null;
  usage: { input_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number; output_tokens: number };
}

/** The tool a request forces, if any. */
function forcedTool(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : [];
  const choice = isRecord(body.tool_choice) ? body.tool_choice : undefined;
  if (tools.length === 0 || !choice) return undefined;
  if (choice.type === 'any') return tools[0];
  if (choice.type === 'tool') return tools.find((t) => t.name === choice.name);
  return undefined;
}

/** A value that fits a JSON schema: strings `"fake-<name>"`, numbers 1, booleans true, one-item arrays, first enum value. */
function fakeValue(schema: unknown, name: string): unknown {
  if (!isRecord(schema)) return `fake-${name}`;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const props = isRecord(schema.properties) ? schema.properties : {};
      return Object.fromEntries(Object.entries(props).map(([k, p]) => [k, fakeValue(p, k)]));
    }
    case 'array':
      return [fakeValue(schema.items, name)];
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return `fake-${name}`;
  }
}

function fakeInput(tool: Record<string, unknown>): Record<string, unknown> {
  const input = fakeValue({ type: 'object', properties: {}, ...(isRecord(tool.input_schema) ? tool.input_schema : {}) }, 'input');
  return isRecord(input) ? input : {};
}

/** Native structured output (`output_config.format`): the reply is JSON fitting the schema. */
function structuredReply(body: Record<string, unknown>): string | undefined {
  const format = isRecord(body.output_config) ? body.output_config.format : undefined;
  return isRecord(format) && format.type === 'json_schema' ? JSON.stringify(fakeValue(format.schema, 'output')) : undefined;
}

/** Splits a string into `n` non-empty character pieces (JSON fragments need not end on tokens). */
function charPieces(text: string, n: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / n));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function plan(body: Record<string, unknown>, context: DialectContext): Plan {
  const messages = body.messages as Array<Record<string, unknown>>;
  const system = contentWords(body.system);
  let words = system.words;
  let cached = system.cached;
  for (const m of messages) {
    const c = contentWords(m.content);
    words += c.words;
    cached += c.cached;
  }
  const usage = { input_tokens: words - cached, cache_creation_input_tokens: 0, cache_read_input_tokens: cached, output_tokens: 0 };
  const id = `msg_fake_${String(context.sequence).padStart(6, '0')}`;
  const model = String(body.model);
  const tool = forcedTool(body);
  if (tool) {
    const json = JSON.stringify(fakeInput(tool));
    usage.output_tokens = countWords(json.replace(/[{}":,]/g, ' '));
    const block = { type: 'tool_use' as const, id: `toolu_fake_${context.sequence}`, name: String(tool.name), pieces: charPieces(json, context.behaviour.chunks) };
    return { id, model, blocks: [block], stopReason: 'tool_use', stopSequence: null, usage };
  }
  const lastUser = messages.filter((m) => m.role === 'user').at(-1);
  let text = structuredReply(body) ?? context.behaviour.reply ?? defaultReply(context.fakeName, contentWords(lastUser?.content).text);
  let stopReason: Plan['stopReason'] = 'end_turn';
  let stopSequence: string | null = null;
  for (const s of Array.isArray(body.stop_sequences) ? body.stop_sequences : []) {
    const at = typeof s === 'string' && s !== '' ? text.indexOf(s) : -1;
    if (at >= 0) {
      text = text.slice(0, at);
      stopReason = 'stop_sequence';
      stopSequence = s as string;
    }
  }
  const cut = truncateWords(text, body.max_tokens as number);
  if (cut.truncated) {
    text = cut.text;
    stopReason = 'max_tokens';
    stopSequence = null;
  }
  usage.output_tokens = countWords(text);
  return { id, model, blocks: [{ type: 'text', pieces: splitPieces(text, context.behaviour.chunks) }], stopReason, stopSequence, usage };
}

function message(p: Plan): Answer {
  const content = p.blocks.map((b) =>
    b.type === 'text' ? { type: 'text', text: b.pieces.join('') } : { type: 'tool_use', id: b.id, name: b.name, input: JSON.parse(b.pieces.join('')) as unknown },
  );
  const body = { id: p.id, type: 'message', role: 'assistant', model: p.model, content, stop_reason: p.stopReason, stop_sequence: p.stopSequence, usage: { ...p.usage, service_tier: 'standard' } };
  return { kind: 'json', status: 200, body };
}

/** One SSE frame the way Anthropic writes it: the event name line, then the JSON. */
export function anthropicFrame(event: { type: string }): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

function stream(p: Plan): Answer {
  const start = { id: p.id, type: 'message', role: 'assistant', model: p.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...p.usage, output_tokens: 1, service_tier: 'standard' } };
  const events: string[] = [anthropicFrame({ type: 'message_start', message: start } as { type: string })];
  p.blocks.forEach((b, index) => {
    const contentBlock = b.type === 'text' ? { type: 'text', text: '' } : { type: 'tool_use', id: b.id, name: b.name, input: {} };
    events.push(anthropicFrame({ type: 'content_block_start', index, content_block: contentBlock } as { type: string }));
    if (index === 0) events.push(anthropicFrame({ type: 'ping' }));
    // Real tool streams open with an empty input_json_delta.
    const deltas = b.type === 'text' ? b.pieces.map((text) => ({ type: 'text_delta', text })) : ['', ...b.pieces].map((partial_json) => ({ type: 'input_json_delta', partial_json }));
    for (const delta of deltas) events.push(anthropicFrame({ type: 'content_block_delta', index, delta } as { type: string }));
    events.push(anthropicFrame({ type: 'content_block_stop', index } as { type: string }));
  });
  events.push(anthropicFrame({ type: 'message_delta', delta: { stop_reason: p.stopReason, stop_sequence: p.stopSequence }, usage: p.usage } as { type: string }));
  events.push(anthropicFrame({ type: 'message_stop' }));
  return { kind: 'stream', contentType: 'text/event-stream; charset=utf-8', events };
}

/** Top-level fields of a count body; anything else is refused as the real endpoint does (`max_tokens` above all). */
const countFields = new Set(['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'mcp_servers', 'output_config', 'context_management', 'cache_control']);

/**
 * `POST /v1/messages/count_tokens`: the Messages body without `max_tokens` (or any other output
 * setting), validated like `/v1/messages`; counted like a message's usage (words of the system
 * prompt and the messages, cached blocks included: a count knows no cache).
 */
function countTokens(body: unknown, context: DialectContext): Answer {
  if (!isRecord(body)) return errorAnswer(400, 'The request body is not valid JSON.', context);
  const extra = Object.keys(body).find((k) => !countFields.has(k));
  if (extra !== undefined) return errorAnswer(400, `${extra}: Extra inputs are not permitted`, context);
  const invalid = validate({ ...body, max_tokens: 1 }, context);
  if (invalid) return invalid;
  let words = contentWords(body.system).words;
  for (const m of body.messages as Array<Record<string, unknown>>) words += contentWords(m.content).words;
  return { kind: 'json', status: 200, body: { input_tokens: words } };
}

function route(request: FakeRequest, context: DialectContext): Answer {
  const { method, path } = request;
  const count = path === '/v1/messages/count_tokens';
  if (method !== 'POST' || (path !== '/v1/messages' && !count)) return errorAnswer(404, `Not found: ${method} ${path}`, context);
  if (!authorized(request, context.apiKey)) return errorAnswer(401, 'invalid x-api-key', context);
  const version = request.headers['anthropic-version'];
  if (typeof version !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(version)) {
    return errorAnswer(400, 'anthropic-version: header is required', context);
  }
  if (count) return countTokens(request.body, context);
  const invalid = validate(request.body, context);
  if (invalid) return invalid;
  const body = request.body as Record<string, unknown>;
  const p = plan(body, context);
  return body.stream === true ? stream(p) : message(p);
}

export const anthropicDialect: FakeDialect = {
  name: 'anthropic',
  basePath: '',
  isInference: (method, path) => method === 'POST' && path === '/v1/messages',
  answer: route,
  errorBody: (status, message) => anthropicError(status, message),
  errorEvent: (message) => anthropicFrame({ type: 'error', error: { type: 'overloaded_error', message } } as { type: string }),
  commonHeaders: (context) => ({ 'request-id': requestId(context) }),
};
