import { z } from 'zod';
import type { ChatMessage, ChatRequest, ContentPart, ToolCall } from './chat-types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { messagesRemoteMedia } from './remote-media.js';
import { modelName, outputTokens, refuseClientRouting, requestCaps, zodToGatewayError } from './parse-common.js';
import { isRecord } from '../is-record.js';

/**
 * `POST /v1/messages` (Anthropic's Messages API, protocols.md §2.2) → our internal chat request.
 * The validated Anthropic body is kept too, so an Anthropic deployment gets it as sent (no lossy
 * double translation). Anything the OpenAI form cannot express is noted in `untranslatable`, so
 * a non-Anthropic deployment refuses the request with a 400 naming it rather than dropping it.
 */
export interface MessagesApiRequest {
  readonly model: string;
  readonly stream: boolean;
  /** Always true: an Anthropic stream always reports usage (message_start, message_delta). */
  readonly includeUsage: true;
  /** The same request in OpenAI's shape, for non-Anthropic deployments. */
  readonly chat: ChatRequest;
  /** The validated Anthropic body (frozen), for Anthropic deployments. */
  readonly native: Readonly<Record<string, unknown>>;
  /** The first parameter the OpenAI form cannot carry, if any. */
  readonly untranslatable: string | undefined;
  /** The client's `anthropic-beta` header, forwarded to Anthropic deployments only. */
  readonly betas: string | undefined;
}

/** Beta names are lower-case tokens with dates, comma-separated (e.g. `context-1m-2025-08-07`). */
const betaHeader = /^[a-z0-9][a-z0-9._-]{0,127}(\s*,\s*[a-z0-9][a-z0-9._-]{0,127}){0,31}$/;

const block = z.looseObject({ type: z.string().min(1) });
const textBlock = z.looseObject({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(block)]);

const messagesBody = z.looseObject({
  model: modelName,
  max_tokens: outputTokens,
  // 2026-10-21 clients may put system turns among the messages (protocols.md §2.1).
  messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant', 'system']), content })).min(1).max(requestCaps.maxMessages),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  stop_sequences: z.array(z.string()).max(64).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  metadata: z.looseObject({ user_id: z.string().max(256).nullable().optional() }).optional(),
  tools: z.array(z.looseObject({ name: z.string().min(1).max(128) })).optional(),
  tool_choice: z
    .looseObject({ type: z.enum(['auto', 'any', 'tool', 'none']), name: z.string().optional(), disable_parallel_tool_use: z.boolean().optional() })
    .refine((c) => c.type !== 'tool' || typeof c.name === 'string', { message: "a 'tool' choice needs a name", path: ['name'] })
    .optional(),
});

/** Top-level fields translated below; any other (thinking, container, mcp_servers…) is Anthropic-only. */
const translatedFields = new Set(['model', 'max_tokens', 'messages', 'system', 'stop_sequences', 'stream', 'temperature', 'top_p', 'top_k', 'metadata', 'tools', 'tool_choice', 'output_config', 'thinking', 'service_tier']);

type Body = z.output<typeof messagesBody>;
type Rec = Record<string, unknown>;

/** Validates a parsed JSON body as a Messages request; throws GatewayError (400). */
export function parseMessagesRequest(raw: unknown, anthropicBeta?: string | string[]): MessagesApiRequest {
  const result = messagesBody.safeParse(refuseClientRouting(raw));
  if (!result.success) throw zodToGatewayError(result.error);
  const betas = Array.isArray(anthropicBeta) ? anthropicBeta.join(',') : anthropicBeta;
  if (betas !== undefined && !betaHeader.test(betas)) {
    throw new GatewayError('invalid_request', "The 'anthropic-beta' header must be a comma-separated list of beta names.", { param: 'anthropic-beta' });
  }
  const b = result.data;
  const notes: string[] = [];
  const note = (param: string): void => void notes.push(param);
  for (const key of Object.keys(b)) if (!translatedFields.has(key) && b[key] !== undefined && b[key] !== null) note(key);
  if (isRecord(b.thinking) && b.thinking.type !== 'disabled') note('thinking');
  if (b.service_tier !== undefined && b.service_tier !== 'auto') note('service_tier');

  const body: Rec = { model: b.model, max_completion_tokens: b.max_tokens, messages: chatMessages(b, note) };
  const stream = b.stream === true;
  if (stream) Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  if (b.temperature !== undefined) body.temperature = b.temperature;
  if (b.top_p !== undefined) body.top_p = b.top_p;
  // No OpenAI field; vLLM and SGLang read `top_k`, others answer 400 (never silently dropped).
  if (b.top_k !== undefined) body.top_k = b.top_k;
  if (b.stop_sequences && b.stop_sequences.length > 0) body.stop = b.stop_sequences;
  if (typeof b.metadata?.user_id === 'string') body.user = b.metadata.user_id;
  if (b.tools) body.tools = chatTools(b.tools, note);
  if (b.tool_choice) Object.assign(body, chatToolChoice(b.tool_choice));
  if (isRecord(b.output_config)) Object.assign(body, responseFormat(b.output_config, note));

  const remoteMediaParam = messagesRemoteMedia(b.messages);
  const chat: ChatRequest = Object.freeze({
    body: Object.freeze(body),
    model: b.model,
    messages: body.messages as ChatMessage[],
    stream,
    includeUsage: stream,
    maxOutputTokens: b.max_tokens,
    n: 1,
    // Named in this API's terms, whichever dialect the deployment speaks.
    ...(remoteMediaParam === undefined ? {} : { remoteMediaParam }),
  });
  return Object.freeze({ model: b.model, stream, includeUsage: true, chat, native: Object.freeze(b), untranslatable: notes[0], betas });
}

function chatMessages(b: Body, note: (p: string) => void): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (typeof b.system === 'string') out.push({ role: 'system', content: b.system });
  else if (b.system && b.system.length > 0) out.push({ role: 'system', content: b.system.map((t) => ({ type: 'text', text: t.text })) });
  b.messages.forEach((m, i) => {
    const param = `messages[${i}].content`;
    if (typeof m.content === 'string') {
      out.push({ role: m.role, content: m.content });
      return;
    }
    if (m.role === 'assistant') {
      out.push(assistantMessage(m.content, param, note));
      return;
    }
    // Tool results answer the previous assistant turn, so they go first, as OpenAI tool messages.
    const parts: ContentPart[] = [];
    m.content.forEach((blk, j) => {
      const p = `${param}[${j}]`;
      if (blk.type === 'tool_result') out.push(toolMessage(blk, p, note));
      else if (blk.type === 'text') parts.push({ type: 'text', text: textOf(blk, p) });
      else if (blk.type === 'image' && m.role === 'user') parts.push(imagePart(blk, p, note));
      else note(`${p}.type`);
    });
    if (parts.length > 0) out.push({ role: m.role, content: parts });
  });
  return out;
}

function assistantMessage(blocks: Rec[], param: string, note: (p: string) => void): ChatMessage {
  let text = '';
  const calls: ToolCall[] = [];
  blocks.forEach((blk, j) => {
    const p = `${param}[${j}]`;
    if (blk.type === 'text') text += textOf(blk, p);
    else if (blk.type === 'tool_use') {
      // Anthropic requires all three; a guess (an empty input, an empty id) would change the call.
      if (typeof blk.id !== 'string') malformed(`${p}.id`, 'must be a string');
      if (typeof blk.name !== 'string') malformed(`${p}.name`, 'must be a string');
      if (!isRecord(blk.input)) malformed(`${p}.input`, 'must be an object');
      calls.push({ id: blk.id, type: 'function', function: { name: blk.name, arguments: JSON.stringify(blk.input) } });
    } else if (blk.type !== 'thinking' && blk.type !== 'redacted_thinking') {
      // Earlier reasoning is Anthropic-only context; other blocks (server tools) cannot be expressed.
      note(`${param}[${j}].type`);
    }
  });
  const m: ChatMessage = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
  if (calls.length > 0) m.tool_calls = calls;
  return m;
}

/**
 * Marks a tool result the tool reported as failed (`is_error: true`): OpenAI's tool message has
 * no such flag, so the model is told in the text, the one channel every provider reads.
 */
export const toolErrorPrefix = 'Error: ';

function toolMessage(blk: Rec, param: string, note: (p: string) => void): ChatMessage {
  if (typeof blk.tool_use_id !== 'string') malformed(`${param}.tool_use_id`, 'must be a string');
  if (blk.is_error !== undefined && typeof blk.is_error !== 'boolean') malformed(`${param}.is_error`, 'must be a boolean');
  let text = '';
  if (typeof blk.content === 'string') text = blk.content;
  else if (Array.isArray(blk.content)) {
    blk.content.forEach((c: unknown, k) => {
      const p = `${param}.content[${k}]`;
      if (!isRecord(c) || typeof c.type !== 'string') malformed(p, 'must be a content block with a type');
      if (c.type === 'text') text += textOf(c, p);
      else note(`${p}.type`);
    });
  } else if (blk.content !== undefined) malformed(`${param}.content`, 'must be a string or a list of content blocks');
  return { role: 'tool', tool_call_id: blk.tool_use_id, content: blk.is_error === true ? `${toolErrorPrefix}${text}` : text };
}

function imagePart(blk: Rec, param: string, note: (p: string) => void): ContentPart {
  if (!isRecord(blk.source)) malformed(`${param}.source`, 'must be an object');
  const s = blk.source;
  if (s.type === 'base64') {
    if (typeof s.media_type !== 'string') malformed(`${param}.source.media_type`, 'must be a string');
    if (typeof s.data !== 'string') malformed(`${param}.source.data`, 'must be a string');
    return { type: 'image_url', image_url: { url: `data:${s.media_type};base64,${s.data}` } };
  }
  if (s.type === 'url') {
    if (typeof s.url !== 'string') malformed(`${param}.source.url`, 'must be a string');
    return { type: 'image_url', image_url: { url: s.url } };
  }
  // Other sources (`file` ids) exist only at Anthropic.
  note(`${param}.source`);
  return { type: 'text', text: '' };
}

/** A text block's text; a block of a known type in the wrong shape is the client's error, not an Anthropic-only feature. */
function textOf(blk: Rec, param: string): string {
  if (typeof blk.text !== 'string') malformed(`${param}.text`, 'must be a string');
  return blk.text;
}

function malformed(param: string, what: string): never {
  throw new GatewayError('invalid_request', `'${param}' ${what}.`, { param });
}

function chatTools(tools: Rec[], note: (p: string) => void): Rec[] {
  return tools.map((t, i) => {
    // Server tools (web search, code execution…) carry a versioned type and run at Anthropic.
    if (t.type !== undefined && t.type !== 'custom') note(`tools[${i}]`);
    const fn: Rec = { name: t.name, parameters: isRecord(t.input_schema) ? t.input_schema : { type: 'object', properties: {} } };
    if (typeof t.description === 'string') fn.description = t.description;
    if (typeof t.strict === 'boolean') fn.strict = t.strict;
    return { type: 'function', function: fn };
  });
}

function chatToolChoice(c: { type: string; name?: string | undefined; disable_parallel_tool_use?: boolean | undefined }): Rec {
  const out: Rec = {};
  if (c.type === 'auto') out.tool_choice = 'auto';
  else if (c.type === 'any') out.tool_choice = 'required';
  else if (c.type === 'none') out.tool_choice = 'none';
  else out.tool_choice = { type: 'function', function: { name: c.name } };
  if (c.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  return out;
}

function responseFormat(config: Rec, note: (p: string) => void): Rec {
  for (const key of Object.keys(config)) if (key !== 'format') note(`output_config.${key}`);
  const f = config.format;
  if (f === undefined || f === null) return {};
  if (isRecord(f) && f.type === 'json_schema' && isRecord(f.schema)) {
    return { response_format: { type: 'json_schema', json_schema: { name: 'output', schema: f.schema, strict: true } } };
  }
  note('output_config.format');
  return {};
}
