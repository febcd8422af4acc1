import { isRecord } from '../../is-record.js';
import type { Answer, DialectContext } from './exchange.js';
import { badRequest, checkModel, errorAnswer } from './openai-error.js';
import { countWords, defaultReply, splitPieces, truncateWords } from './reply.js';

/**
 * OpenAI's Responses API as the fake serves it (`POST /v1/responses`, `POST
 * /v1/responses/input_tokens`), shaped after recorded OpenAI traffic
 * (test/fixtures/openai-responses/): a Response object, or named SSE events (`event: <type>`,
 * `data: {"type":…, …, "sequence_number":n}`, no `[DONE]`). The fake keeps no state, so it
 * refuses what only a stateful server could answer (`previous_response_id`, reasoning items
 * without `encrypted_content`, item references) the way OpenAI does with `store: false`.
 *
 * Replies are deterministic: the behaviour's text (or the default echo of the last user turn),
 * cut at `max_output_tokens` (status `incomplete`); when `tool_choice` forces a function
 * (`required`, or `{type:"function", name}`), one `function_call` item instead whose arguments
 * fill each schema property with a fixed value. Token counts are words, as the chat fake counts.
 */

type Json = Record<string, unknown>;

/** The text of a content value: a string, or the text of its parts. */
function partsText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join(' ');
}

function itemText(item: unknown): string {
  if (!isRecord(item)) return '';
  if (item.type === 'function_call') return `${String(item.name)} ${String(item.arguments)}`;
  if (item.type === 'function_call_output') return partsText(item.output);
  return partsText(item.content);
}

/**
 * Input tokens as the fake counts them: words of every input item (and of `instructions`) plus
 * 3 per item, as the chat fake counts words plus 3 per message. Shared by both routes so a
 * count always equals the `input_tokens` of the answer to the same body.
 */
export function responsesInputTokens(body: Json): number {
  let tokens = typeof body.instructions === 'string' ? countWords(body.instructions) + 3 : 0;
  if (typeof body.input === 'string') return tokens + countWords(body.input) + 3;
  if (Array.isArray(body.input)) for (const item of body.input) tokens += countWords(itemText(item)) + 3;
  return tokens;
}

const roles = new Set(['user', 'assistant', 'system', 'developer']);

/** What OpenAI answers for an item it would have to look up in its store (404, param `input`). */
function notStored(id: unknown, store: boolean): Answer {
  const hint = store ? '' : ' Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input.';
  return errorAnswer(404, `Item with id '${String(id)}' not found.${hint}`, 'input', null);
}

function checkItem(item: unknown, i: number, callIds: Set<string>, store: boolean): Answer | undefined {
  const at = `input[${i}]`;
  if (!isRecord(item)) return badRequest(`Invalid type for '${at}': expected an object.`, at, 'invalid_type');
  const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
  switch (type) {
    case 'message':
      if (typeof item.role !== 'string' || !roles.has(item.role)) {
        return badRequest(`Invalid value: '${String(item.role)}'. Supported values are: 'user', 'assistant', 'system', and 'developer'.`, `${at}.role`, 'invalid_value');
      }
      if (typeof item.content !== 'string' && !Array.isArray(item.content)) {
        return badRequest(`Invalid type for '${at}.content': expected a string or an array of content parts.`, `${at}.content`, 'invalid_type');
      }
      return undefined;
    case 'function_call':
      for (const key of ['call_id', 'name', 'arguments']) {
        if (typeof item[key] !== 'string') return badRequest(`Missing required parameter: '${at}.${key}'.`, `${at}.${key}`, 'missing_required_parameter');
      }
      callIds.add(item.call_id as string);
      return undefined;
    case 'function_call_output':
      if (typeof item.call_id !== 'string') return badRequest(`Missing required parameter: '${at}.call_id'.`, `${at}.call_id`, 'missing_required_parameter');
      if (!callIds.has(item.call_id)) return errorAnswer(400, `No tool call found for function call output with call_id ${item.call_id}.`, 'input', null);
      return undefined;
    case 'reasoning':
      return typeof item.encrypted_content === 'string' && item.encrypted_content !== '' ? undefined : notStored(item.id, store);
    case 'item_reference':
      return notStored(item.id, store);
    case undefined:
      return badRequest(`Missing required parameter: '${at}.type'.`, `${at}.type`, 'missing_required_parameter');
    default:
      return undefined;
  }
}

/** The request checks OpenAI makes that a gateway could get wrong; an error answer or undefined. */
function checkRequest(body: Json, context: DialectContext): Answer | undefined {
  const invalid = checkModel(body, context);
  if (invalid !== undefined) return invalid;
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) {
    return badRequest(`Previous response with id '${String(body.previous_response_id)}' not found.`, 'previous_response_id', 'previous_response_not_found');
  }
  const input = body.input;
  if (input === undefined) return badRequest("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  if (typeof input !== 'string' && !Array.isArray(input)) {
    return badRequest("Invalid type for 'input': expected a string or an array of input items.", 'input', 'invalid_type');
  }
  if (Array.isArray(input)) {
    const callIds = new Set<string>();
    for (let i = 0; i < input.length; i++) {
      const bad = checkItem(input[i], i, callIds, body.store !== false);
      if (bad !== undefined) return bad;
    }
  }
  const max = body.max_output_tokens;
  if (max !== undefined && max !== null && (typeof max !== 'number' || !Number.isInteger(max) || max < 16)) {
    return badRequest(`Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got ${String(max)} instead.`, 'max_output_tokens', 'integer_below_min_value');
  }
  if (body.tools !== undefined && !Array.isArray(body.tools)) return badRequest("Invalid type for 'tools': expected an array.", 'tools', 'invalid_type');
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return badRequest("Invalid type for 'stream': expected a boolean.", 'stream', 'invalid_type');
  return undefined;
}

/** The function tool `tool_choice` forces, if any; an error answer when it names no offered tool. */
function forcedTool(body: Json): { tool?: Json; error?: Answer } {
  const tools = Array.isArray(body.tools) ? body.tools.filter((t): t is Json => isRecord(t) && t.type === 'function') : [];
  const choice = body.tool_choice;
  if (choice === 'required') return tools[0] === undefined ? {} : { tool: tools[0] };
  if (!isRecord(choice) || choice.type !== 'function') return {};
  const tool = tools.find((t) => t.name === choice.name);
  return tool === undefined ? { error: errorAnswer(400, "Tool choice 'function' not found in 'tools' parameter.", 'tool_choice', null) } : { tool };
}

/** A value fitting a JSON schema: strings `"fake-<name>"`, numbers 1, booleans true, one-item arrays, the first enum value. */
function fakeValue(schema: unknown, name: string): unknown {
  if (!isRecord(schema)) return `fake-${name}`;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type === 'object') return Object.fromEntries(Object.entries(isRecord(schema.properties) ? schema.properties : {}).map(([k, p]) => [k, fakeValue(p, k)]));
  if (type === 'array') return [fakeValue(schema.items, name)];
  if (type === 'number' || type === 'integer') return 1;
  if (type === 'boolean') return true;
  return `fake-${name}`;
}

/** Splits JSON into `n` character pieces (argument deltas need not end on tokens). */
function charPieces(text: string, n: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / n));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

type PlannedItem = { kind: 'message'; id: string; pieces: string[] } | { kind: 'call'; id: string; callId: string; name: string; pieces: string[] };

interface Plan {
  id: string;
  item: PlannedItem;
  incomplete: boolean;
  usage: Json;
}

function lastUserText(input: unknown): string {
  if (typeof input === 'string') return input;
  const users = Array.isArray(input) ? input.filter((i) => isRecord(i) && i.role === 'user') : [];
  return partsText((users.at(-1) as Json | undefined)?.content);
}

function plan(body: Json, tool: Json | undefined, context: DialectContext): Plan {
  const seq = context.sequence;
  const inputTokens = responsesInputTokens(body);
  const usage = (output: number): Json => ({
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + output,
  });
  const id = `resp_fake_${seq}`;
  if (tool !== undefined) {
    const json = JSON.stringify(fakeValue({ type: 'object', properties: {}, ...(isRecord(tool.parameters) ? tool.parameters : {}) }, 'arguments'));
    const item: PlannedItem = { kind: 'call', id: `fc_fake_${seq}`, callId: `call_fake_${seq}`, name: String(tool.name), pieces: charPieces(json, context.behaviour.chunks) };
    return { id, item, incomplete: false, usage: usage(countWords(json.replace(/[{}":,[\]]/g, ' '))) };
  }
  let text = context.behaviour.reply ?? defaultReply(context.fakeName, lastUserText(body.input));
  let incomplete = false;
  if (typeof body.max_output_tokens === 'number') {
    const cut = truncateWords(text, body.max_output_tokens);
    text = cut.text;
    incomplete = cut.truncated;
  }
  return { id, item: { kind: 'message', id: `msg_fake_${seq}`, pieces: splitPieces(text, context.behaviour.chunks) }, incomplete, usage: usage(countWords(text)) };
}

/** The finished output item. */
function doneItem(item: PlannedItem): Json {
  const whole = item.pieces.join('');
  if (item.kind === 'call') return { id: item.id, type: 'function_call', status: 'completed', arguments: whole, call_id: item.callId, name: item.name };
  return { id: item.id, type: 'message', status: item.pieces.length > 0 ? 'completed' : 'incomplete', content: [textPart(whole)], role: 'assistant' };
}

function textPart(text: string): Json {
  return { type: 'output_text', annotations: [], logprobs: [], text };
}

/** The Response object in a given state; the fields OpenAI echoes from the request, in its order. */
function responseObject(p: Plan, body: Json, context: DialectContext, state: { status: string; output: Json[]; usage: Json | null; error?: Json }): Json {
  const finished = state.status !== 'in_progress';
  return {
    id: p.id,
    object: 'response',
    created_at: context.nowSeconds,
    status: state.status,
    background: false,
    completed_at: finished ? context.nowSeconds : null,
    error: state.error ?? null,
    incomplete_details: state.status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: body.max_tool_calls ?? null,
    model: body.model,
    output: state.output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    prompt_cache_key: body.prompt_cache_key ?? null,
    reasoning: isRecord(body.reasoning) ? { effort: null, summary: null, ...body.reasoning } : { effort: null, summary: null },
    safety_identifier: null,
    service_tier: finished ? 'default' : 'auto',
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: isRecord(body.text) ? body.text : { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: Array.isArray(body.tools) ? body.tools : [],
    top_logprobs: 0,
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: state.usage,
    user: null,
    metadata: isRecord(body.metadata) ? body.metadata : {},
  };
}

/** One SSE frame as OpenAI writes it: the event name line, then the JSON with `type` first and `sequence_number` last. */
export function responsesFrame(type: string, fields: Json, sequence: number): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: sequence })}\n\n`;
}

function status(p: Plan): string {
  return p.incomplete ? 'incomplete' : 'completed';
}

function events(p: Plan, body: Json, context: DialectContext): Array<[string, Json]> {
  const started = responseObject(p, body, context, { status: 'in_progress', output: [], usage: null });
  const out: Array<[string, Json]> = [
    ['response.created', { response: started }],
    ['response.in_progress', { response: started }],
  ];
  const { item } = p;
  const at = { item_id: item.id, output_index: 0 };
  if (item.kind === 'call') {
    out.push(['response.output_item.added', { item: { id: item.id, type: 'function_call', status: 'in_progress', arguments: '', call_id: item.callId, name: item.name }, output_index: 0 }]);
    for (const piece of item.pieces) out.push(['response.function_call_arguments.delta', { delta: piece, ...at }]);
    out.push(['response.function_call_arguments.done', { arguments: item.pieces.join(''), ...at }]);
  } else {
    const text = item.pieces.join('');
    out.push(['response.output_item.added', { item: { id: item.id, type: 'message', status: 'in_progress', content: [], role: 'assistant' }, output_index: 0 }]);
    out.push(['response.content_part.added', { content_index: 0, ...at, part: textPart('') }]);
    for (const piece of item.pieces) out.push(['response.output_text.delta', { content_index: 0, delta: piece, ...at, logprobs: [] }]);
    out.push(['response.output_text.done', { content_index: 0, ...at, logprobs: [], text }]);
    out.push(['response.content_part.done', { content_index: 0, ...at, part: textPart(text) }]);
  }
  out.push(['response.output_item.done', { item: doneItem(item), output_index: 0 }]);
  const final = responseObject(p, body, context, { status: status(p), output: [doneItem(item)], usage: p.usage });
  out.push([`response.${status(p)}`, { response: final }]);
  return out;
}

function stream(p: Plan, body: Json, context: DialectContext): Answer {
  const frames = events(p, body, context).map(([type, fields], i) => responsesFrame(type, fields, i));
  // A failure mid-stream, as OpenAI reports one: an `error` event, then `response.failed`.
  const errorEvent = (message: string, sent: number): string => {
    const error = { code: 'server_error', message };
    const failed = responseObject(p, body, context, { status: 'failed', output: [], usage: null, error });
    return responsesFrame('error', { ...error, param: null }, sent) + responsesFrame('response.failed', { response: failed }, sent + 1);
  };
  return { kind: 'stream', contentType: 'text/event-stream; charset=utf-8', events: frames, errorEvent };
}

/** `POST /v1/responses`. */
export function responses(body: Json, context: DialectContext): Answer {
  const invalid = checkRequest(body, context);
  if (invalid !== undefined) return invalid;
  const { tool, error } = forcedTool(body);
  if (error !== undefined) return error;
  const p = plan(body, tool, context);
  if (body.stream === true) return stream(p, body, context);
  return { kind: 'json', status: 200, body: responseObject(p, body, context, { status: status(p), output: [doneItem(p.item)], usage: p.usage }) };
}

/** `POST /v1/responses/input_tokens`: the count the same body would get as `usage.input_tokens`. */
export function responsesInputTokensRoute(body: Json, context: DialectContext): Answer {
  const invalid = checkModel(body, context);
  if (invalid !== undefined) return invalid;
  if (body.input !== undefined && typeof body.input !== 'string' && !Array.isArray(body.input)) {
    return badRequest("Invalid type for 'input': expected a string or an array of input items.", 'input', 'invalid_type');
  }
  return { kind: 'json', status: 200, body: { object: 'response.input_tokens', input_tokens: responsesInputTokens(body) } };
}
