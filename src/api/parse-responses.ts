import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ChatMessage, ChatRequest, ContentPart, ToolCall } from './chat-types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { chatBounds, modelName, outputTokens, refuseClientRouting, requestCaps, responseFormatTypes, toolChoiceModes, zodToGatewayError } from './parse-common.js';
import type { ResponseItem, ResponsesApiRequest } from './responses-types.js';
import { isRecord } from '../is-record.js';

/**
 * `POST /v1/responses` (OpenAI's Responses API) → our internal chat request, and the validated
 * body for deployments that speak the Responses API themselves. Mirrors parse-messages.ts:
 * whatever the chat form cannot express is noted in `untranslatable`, so a translated deployment
 * answers 400 naming it instead of dropping it. A conversation continued with
 * `previous_response_id` arrives with its stored items in `prior`; they are prepended and count
 * against the same caps as the request's own input.
 */

type Rec = Record<string, unknown>;

const metadata = z
  .record(z.string().max(chatBounds.metadata.maxKeyLength), z.string().max(chatBounds.metadata.maxValueLength))
  .refine((m) => Object.keys(m).length <= chatBounds.metadata.maxKeys, { message: `at most ${chatBounds.metadata.maxKeys} keys` });

const responsesBody = z.looseObject({
  model: modelName,
  // Items are checked one by one below, so a bad one is named by its index.
  input: z.union([z.string(), z.array(z.unknown())]).optional(),
  instructions: z.string().nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string().min(1).max(64) })).max(chatBounds.maxFunctions).optional(),
  tool_choice: z.union([z.enum(toolChoiceModes), z.looseObject({ type: z.string().min(1).max(64) })]).optional(),
  text: z
    .looseObject({
      format: z.looseObject({ type: z.enum(responseFormatTypes) }).optional(),
      verbosity: z.enum(['low', 'medium', 'high']).nullable().optional(),
    })
    .nullable()
    .optional(),
  max_output_tokens: outputTokens.nullable().optional(),
  temperature: z.number().min(chatBounds.temperature.min).max(chatBounds.temperature.max).nullable().optional(),
  top_p: z.number().min(chatBounds.topP.min).max(chatBounds.topP.max).nullable().optional(),
  reasoning: z
    .looseObject({
      effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullable().optional(),
      summary: z.enum(['auto', 'concise', 'detailed']).nullable().optional(),
    })
    .nullable()
    .optional(),
  metadata: metadata.nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  user: z.string().max(chatBounds.maxUserLength).optional(),
  safety_identifier: z.string().max(chatBounds.maxSafetyIdentifierLength).optional(),
  prompt_cache_key: z.string().max(1024).optional(),
  service_tier: z.enum(['auto', 'default', 'flex', 'scale', 'priority']).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_obfuscation: z.boolean().optional() }).nullable().optional(),
  store: z.boolean().nullable().optional(),
  previous_response_id: z.string().min(1).max(256).nullable().optional(),
  background: z.boolean().nullable().optional(),
  truncation: z.enum(['auto', 'disabled']).nullable().optional(),
  include: z.array(z.string().max(128)).max(32).nullable().optional(),
});

type Body = z.output<typeof responsesBody>;

/** Top-level fields handled below; any other (prompt, max_tool_calls, top_logprobs…) cannot be expressed in chat. */
const translatedFields = new Set([
  'model', 'input', 'instructions', 'tools', 'tool_choice', 'text', 'max_output_tokens', 'temperature', 'top_p', 'reasoning', 'metadata',
  'parallel_tool_calls', 'user', 'safety_identifier', 'prompt_cache_key', 'service_tier', 'stream', 'stream_options', 'store',
  'previous_response_id', 'background', 'truncation', 'include', 'conversation',
]);

/** Chat parameter → the Responses parameter it came from, so a provider's refusal names what the client wrote. */
export const responsesParamFor: Readonly<Record<string, string>> = {
  max_completion_tokens: 'max_output_tokens',
  // The gateway's own refusals (a token limit the request can never fit) name chat's oldest spelling.
  max_tokens: 'max_output_tokens',
  response_format: 'text.format',
  verbosity: 'text.verbosity',
  reasoning_effort: 'reasoning.effort',
  messages: 'input',
};

/** Validates a parsed JSON body as a Responses create request (or, with `emptyInput`, a count's); throws GatewayError (400). */
export function parseResponsesRequest(raw: unknown, prior: readonly ResponseItem[] = [], options: { readonly emptyInput?: boolean } = {}): ResponsesApiRequest {
  const rawBody = refuseClientRouting(raw);
  refuseEverywhere(rawBody);
  // Cheap length checks before the schema walks anything: the expanded history is bounded.
  const ownCount = Array.isArray(rawBody.input) ? rawBody.input.length : 1;
  if (ownCount + prior.length > requestCaps.maxMessages) {
    const param = prior.length > 0 && ownCount <= requestCaps.maxMessages ? 'previous_response_id' : 'input';
    throw new GatewayError('invalid_request', `'${param}' expands to ${ownCount + prior.length} input items; at most ${requestCaps.maxMessages} are allowed in one request.`, { param });
  }
  const result = responsesBody.safeParse(rawBody);
  if (!result.success) throw zodToGatewayError(result.error);
  const b = result.data;
  if (b.input === undefined) throw new GatewayError('invalid_request', "'input' is required.", { param: 'input' });
  // A count may leave the input out (the instructions and tools alone); a create has nothing to answer.
  if (b.input.length === 0 && prior.length === 0 && options.emptyInput !== true) throw new GatewayError('invalid_request', "'input' must not be empty.", { param: 'input' });

  const notes: string[] = [];
  const note = (param: string): void => void notes.push(param);
  for (const key of Object.keys(b)) if (!translatedFields.has(key) && b[key] !== undefined && b[key] !== null) note(key);
  if (b.include && b.include.length > 0) note('include');
  if (b.truncation === 'auto') note('truncation');
  if (b.reasoning?.summary != null) note('reasoning.summary');

  const inputItems = normaliseInput(b.input);
  const expanded = [...prior, ...inputItems];
  const conversion = chatMessages(b, prior, inputItems, note);

  const stream = b.stream === true;
  const chatBody: Rec = { model: b.model, messages: conversion.messages };
  if (stream) Object.assign(chatBody, { stream: true, stream_options: { include_usage: true } });
  if (b.max_output_tokens != null) chatBody.max_completion_tokens = b.max_output_tokens;
  if (b.temperature != null) chatBody.temperature = b.temperature;
  if (b.top_p != null) chatBody.top_p = b.top_p;
  if (b.tools && b.tools.length > 0) {
    chatBody.tools = chatTools(b.tools, note);
    // OpenAI refuses parallel_tool_calls without tools; without tools it means nothing.
    if (b.parallel_tool_calls != null) chatBody.parallel_tool_calls = b.parallel_tool_calls;
  }
  if (b.tool_choice !== undefined) chatBody.tool_choice = chatToolChoice(b.tool_choice, note);
  if (b.text?.format) chatBody.response_format = responseFormat(b.text.format);
  if (b.text?.verbosity != null) chatBody.verbosity = b.text.verbosity;
  if (b.reasoning?.effort != null) chatBody.reasoning_effort = b.reasoning.effort;
  if (b.user !== undefined) chatBody.user = b.user;
  if (b.safety_identifier !== undefined) chatBody.safety_identifier = b.safety_identifier;
  if (b.prompt_cache_key !== undefined) chatBody.prompt_cache_key = b.prompt_cache_key;
  if (b.service_tier != null) chatBody.service_tier = b.service_tier;
  // `metadata` and `store` are the gateway's (echoed in the response, kept in our store), never the chat provider's.

  const chat: ChatRequest = Object.freeze({
    body: Object.freeze(chatBody),
    model: b.model,
    messages: conversion.messages,
    stream,
    includeUsage: stream,
    maxOutputTokens: b.max_output_tokens ?? undefined,
    n: 1,
    ...(conversion.remoteMediaParam === undefined ? {} : { remoteMediaParam: conversion.remoteMediaParam }),
  });

  const native: Rec = { ...b, input: expanded };
  delete native.store;
  delete native.previous_response_id;
  const store = b.store !== false;
  const instructions = b.instructions ?? undefined;
  return Object.freeze({
    model: b.model,
    stream,
    includeUsage: true,
    native: Object.freeze(native),
    chat,
    untranslatable: notes[0],
    inputItems,
    store,
    previousResponseId: b.previous_response_id ?? undefined,
    instructions,
    echo: Object.freeze(echoFields(b, store)),
  });
}

/** `background` and `conversation` ask for things the gateway does not run on any deployment. */
function refuseEverywhere(body: Rec): void {
  if (body.background === true) {
    throw new GatewayError('unsupported_parameter', "'background' responses are not supported by this gateway: send the request without it (streaming keeps long answers alive).", { param: 'background' });
  }
  if (body.conversation !== undefined && body.conversation !== null) {
    throw new GatewayError('unsupported_parameter', "'conversation' is not supported by this gateway: continue a conversation with 'previous_response_id'.", { param: 'conversation' });
  }
}

/**
 * The request fields OpenAI's `Response` object repeats, with OpenAI's defaults for those the
 * client left out (the spec marks them required).
 */
function echoFields(b: Body, store: boolean): Rec {
  return {
    instructions: b.instructions ?? null,
    tools: (b.tools ?? []).map(echoTool),
    tool_choice: b.tool_choice ?? 'auto',
    temperature: b.temperature ?? 1,
    top_p: b.top_p ?? 1,
    parallel_tool_calls: b.parallel_tool_calls ?? true,
    metadata: b.metadata ?? {},
    text: { format: b.text?.format ?? { type: 'text' }, ...(b.text?.verbosity != null ? { verbosity: b.text.verbosity } : {}) },
    max_output_tokens: b.max_output_tokens ?? null,
    previous_response_id: b.previous_response_id ?? null,
    store,
    reasoning: { effort: b.reasoning?.effort ?? null, summary: b.reasoning?.summary ?? null },
    truncation: b.truncation ?? 'disabled',
    service_tier: b.service_tier ?? 'default',
    ...(b.user !== undefined ? { user: b.user } : {}),
    ...(b.safety_identifier !== undefined ? { safety_identifier: b.safety_identifier } : {}),
    ...(b.prompt_cache_key !== undefined ? { prompt_cache_key: b.prompt_cache_key } : {}),
  };
}

/**
 * A tool as the response object lists it: function tools with every field the spec requires
 * (null where the client gave none: `strict` left to the provider's default), others as sent.
 */
function echoTool(t: Rec): Rec {
  if (t.type !== 'function') return t;
  return { ...t, description: t.description ?? null, parameters: t.parameters ?? null, strict: t.strict ?? null };
}

const idPrefixes: Readonly<Record<string, string>> = { message: 'msg', function_call: 'fc', function_call_output: 'fco', reasoning: 'rs' };

/** A fresh item id (`msg_…`, `fc_…`): stored items are listed by id. */
export function newItemId(type: string): string {
  return `${idPrefixes[type] ?? 'item'}_${randomBytes(12).toString('hex')}`;
}

/**
 * This request's input as item objects: a string is one user message; a message given the short
 * way (`{role, content}` without `type`, string content) gets its type and content parts; every
 * item gets an id. Other fields are kept.
 */
function normaliseInput(input: string | unknown[]): ResponseItem[] {
  if (typeof input === 'string') {
    return [{ type: 'message', id: newItemId('message'), role: 'user', content: [{ type: 'input_text', text: input }] }];
  }
  return input.map((raw, i) => {
    if (!isRecord(raw)) malformed(`input[${i}]`, 'must be an input item object');
    if (raw.type !== undefined && (typeof raw.type !== 'string' || raw.type === '' || raw.type.length > 64)) malformed(`input[${i}].type`, 'must be an item type');
    const it: Rec = { ...raw };
    if (it.type === undefined && typeof it.role === 'string') it.type = 'message';
    if (it.type === undefined) malformed(`input[${i}].type`, 'is required');
    if (it.type === 'message' && typeof it.content === 'string') {
      it.content = [it.role === 'assistant' ? { type: 'output_text', text: it.content, annotations: [] } : { type: 'input_text', text: it.content }];
    }
    const type = typeof it.type === 'string' ? it.type : 'item';
    if (typeof it.id !== 'string' && type !== 'item_reference') it.id = newItemId(type);
    return it as ResponseItem;
  });
}

interface Conversion {
  readonly messages: ChatMessage[];
  readonly remoteMediaParam: string | undefined;
}

/**
 * The items (stored history, then this request's input) as chat messages. `instructions` come
 * first as a system message. A `function_call` joins the assistant message before it (chat
 * carries calls on the assistant turn), and its output becomes a `tool` message.
 */
function chatMessages(b: Body, prior: readonly ResponseItem[], own: readonly ResponseItem[], note: (p: string) => void): Conversion {
  const out: ChatMessage[] = [];
  let remoteMediaParam: string | undefined;
  if (typeof b.instructions === 'string' && b.instructions !== '') out.push({ role: 'system', content: b.instructions });
  /** The assistant message function calls attach to: the last message, if it is an assistant turn. */
  const openAssistant = (): ChatMessage => {
    const last = out.at(-1);
    if (last?.role === 'assistant') return last;
    const m: ChatMessage = { role: 'assistant', content: null };
    out.push(m);
    return m;
  };
  const convert = (it: ResponseItem, param: string): void => {
    switch (it.type) {
      case 'message': {
        const m = messageOf(it, param, note);
        if (m.remote !== undefined) remoteMediaParam ??= m.remote;
        out.push(m.message);
        return;
      }
      case 'function_call': {
        const callId = str(it.call_id, `${param}.call_id`);
        const name = str(it.name, `${param}.name`);
        const args = str(it.arguments, `${param}.arguments`);
        const m = openAssistant();
        const call: ToolCall = { id: callId, type: 'function', function: { name, arguments: args } };
        m.tool_calls = [...(m.tool_calls ?? []), call];
        return;
      }
      case 'function_call_output':
        out.push({ role: 'tool', tool_call_id: str(it.call_id, `${param}.call_id`), content: toolOutput(it.output, `${param}.output`, note) });
        return;
      case 'reasoning':
        // Earlier reasoning is context only the model that wrote it can read; chat has no place for it.
        return;
      default:
        // item_reference (needs OpenAI's store), built-in tool calls and their outputs.
        note(param);
    }
  };
  // Stored items were validated when they were stored; a fault there is named by the id that brought them.
  for (const it of prior) convert(it, 'previous_response_id');
  own.forEach((it, i) => convert(it, typeof b.input === 'string' ? 'input' : `input[${i}]`));
  return { messages: out, remoteMediaParam };
}

const roles = new Set(['user', 'assistant', 'system', 'developer']);

function messageOf(it: ResponseItem, param: string, note: (p: string) => void): { message: ChatMessage; remote: string | undefined } {
  const role = it.role;
  if (typeof role !== 'string' || !roles.has(role)) malformed(`${param}.role`, "must be one of 'user', 'assistant', 'system', 'developer'");
  const chatRole = role as 'user' | 'assistant' | 'system' | 'developer';
  if (!Array.isArray(it.content)) malformed(`${param}.content`, 'must be a string or a list of content parts');
  let remote: string | undefined;
  if (chatRole === 'assistant') {
    // Chat's assistant turn is one text; a refusal was the model's answer text.
    let text = '';
    it.content.forEach((part: unknown, j) => {
      const p = `${param}.content[${j}]`;
      if (!isRecord(part)) malformed(p, 'must be a content part');
      if (part.type === 'output_text' || part.type === 'input_text') text += str(part.text, `${p}.text`);
      else if (part.type === 'refusal') text += str(part.refusal, `${p}.refusal`);
      else note(`${p}.type`);
    });
    return { message: { role: 'assistant', content: text }, remote };
  }
  const parts: ContentPart[] = [];
  it.content.forEach((part: unknown, j) => {
    const p = `${param}.content[${j}]`;
    if (!isRecord(part)) malformed(p, 'must be a content part');
    if (part.type === 'input_text') parts.push({ type: 'text', text: str(part.text, `${p}.text`) });
    else if (part.type === 'input_image' && chatRole === 'user') {
      if (part.file_id != null) {
        // A file id refers to OpenAI's file store.
        note(`${p}.file_id`);
        return;
      }
      const url = str(part.image_url, `${p}.image_url`);
      if (!/^[\x00-\x20]*data:/i.test(url)) remote ??= `${p}.image_url`;
      const image: Rec = { url };
      if (part.detail === 'low' || part.detail === 'high' || part.detail === 'auto') image.detail = part.detail;
      parts.push({ type: 'image_url', image_url: image });
    } else note(`${p}.type`);
  });
  // Chat system and developer messages take text; a single text part is sent as a string (every provider reads that).
  const content = parts.length === 1 && parts[0]!.type === 'text' ? parts[0]!.text! : parts;
  return { message: { role: chatRole, content }, remote };
}

function toolOutput(output: unknown, param: string, note: (p: string) => void): string {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) malformed(param, 'must be a string or a list of content parts');
  let text = '';
  output.forEach((part: unknown, j) => {
    const p = `${param}[${j}]`;
    if (!isRecord(part)) malformed(p, 'must be a content part');
    if (part.type === 'input_text' || part.type === 'output_text') text += str(part.text, `${p}.text`);
    else note(`${p}.type`);
  });
  return text;
}

function chatTools(tools: Rec[], note: (p: string) => void): Rec[] {
  return tools.flatMap((t, i) => {
    // Built-in tools (web_search, file_search, code_interpreter, mcp…) run at OpenAI.
    if (t.type !== 'function') {
      note(`tools[${i}]`);
      return [];
    }
    const fn: Rec = { name: toolName(t.name, `tools[${i}].name`) };
    if (t.description != null) fn.description = str(t.description, `tools[${i}].description`);
    if (t.parameters != null) {
      if (!isRecord(t.parameters)) malformed(`tools[${i}].parameters`, 'must be a JSON Schema object');
      fn.parameters = t.parameters;
    } else fn.parameters = { type: 'object', properties: {} };
    if (t.strict != null) {
      if (typeof t.strict !== 'boolean') malformed(`tools[${i}].strict`, 'must be a boolean');
      fn.strict = t.strict;
    }
    return [{ type: 'function', function: fn }];
  });
}

function toolName(value: unknown, param: string): string {
  const name = str(value, param);
  if (!/^[a-zA-Z0-9_-]{1,128}$/.test(name)) malformed(param, 'must be 1 to 128 letters, digits, underscores or dashes');
  return name;
}

function chatToolChoice(c: string | Rec, note: (p: string) => void): unknown {
  if (typeof c === 'string') return c;
  if (c.type === 'function') return { type: 'function', function: { name: toolName(c.name, 'tool_choice.name') } };
  // allowed_tools, hosted tools, mcp, custom.
  note('tool_choice');
  return 'auto';
}

function responseFormat(f: Rec & { type: (typeof responseFormatTypes)[number] }): Rec {
  if (f.type !== 'json_schema') return { type: f.type };
  const name = str(f.name, 'text.format.name');
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name)) malformed('text.format.name', 'must be 1 to 64 letters, digits, underscores or dashes');
  if (!isRecord(f.schema)) malformed('text.format.schema', 'must be a JSON Schema object');
  const js: Rec = { name, schema: f.schema };
  if (f.description != null) js.description = str(f.description, 'text.format.description');
  if (f.strict != null) {
    if (typeof f.strict !== 'boolean') malformed('text.format.strict', 'must be a boolean');
    js.strict = f.strict;
  }
  return { type: 'json_schema', json_schema: js };
}

function str(value: unknown, param: string): string {
  if (typeof value !== 'string') malformed(param, 'must be a string');
  return value;
}

function malformed(param: string, what: string): never {
  throw new GatewayError('invalid_request', `'${param}' ${what}.`, { param });
}
