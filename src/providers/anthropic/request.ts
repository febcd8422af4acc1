import type { ChatMessage, ChatRequest, ContentPart } from '../../api/chat-types.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { TargetInfo, UpstreamCall } from '../types.js';
import { defaultAnthropicVersion, isObject, type ContentBlock, type MessageParam, type MessagesRequestBody, type TextBlock, type ToolChoice, type ToolDefinition } from './wire.js';

/**
 * OpenAI chat request → Anthropic Messages request (protocols.md §2.6). Which OpenAI fields are
 * translated, ignored or refused is declared in parameters.ts and checked before this runs; here
 * only values Anthropic cannot express are refused, with a 400 naming them.
 */

function refuse(param: string, why = 'is not supported by Anthropic deployments'): never {
  throw new GatewayError('unsupported_parameter', `The '${param}' parameter ${why}.`, { param });
}

function invalid(param: string, message: string): never {
  throw new GatewayError('invalid_request', message, { param });
}

/** Builds the Messages body; throws GatewayError (400) for what Anthropic cannot express. */
export function toMessagesBody(request: ChatRequest, target: TargetInfo): MessagesRequestBody {
  const b = request.body;
  const maxTokens = request.maxOutputTokens ?? target.defaultMaxTokens;
  if (maxTokens === undefined) {
    invalid('max_tokens', "Anthropic requires 'max_tokens' (or 'max_completion_tokens'), and no default is configured for this model.");
  }
  const { system, messages } = translateMessages(request.messages);
  const out: MessagesRequestBody = { model: target.upstreamModel, max_tokens: maxTokens, messages };
  if (system !== undefined) out.system = system;
  if (typeof b.temperature === 'number') {
    // Anthropic's range is 0..1; rescaling would change meaning, so larger values are refused.
    if (b.temperature > 1) invalid('temperature', "Anthropic accepts 'temperature' from 0 to 1.");
    out.temperature = b.temperature;
  }
  if (typeof b.top_p === 'number') out.top_p = b.top_p;
  if (typeof b.top_k === 'number') out.top_k = b.top_k;
  if (typeof b.stop === 'string') out.stop_sequences = [b.stop];
  else if (Array.isArray(b.stop) && b.stop.length > 0) out.stop_sequences = b.stop as string[];
  const user = typeof b.safety_identifier === 'string' ? b.safety_identifier : typeof b.user === 'string' ? b.user : undefined;
  if (user !== undefined) out.metadata = { user_id: user };
  const tools = translateTools(b.tools);
  if (tools) out.tools = tools;
  const choice = translateToolChoice(b.tool_choice, b.parallel_tool_calls);
  if (choice) out.tool_choice = choice;
  const format = translateResponseFormat(b.response_format);
  if (format) out.output_config = { format };
  if (request.stream) out.stream = true;
  return out;
}

/** System and developer messages become the top-level `system`, wherever they appear. */
function translateMessages(input: readonly ChatMessage[]): { system: string | TextBlock[] | undefined; messages: MessageParam[] } {
  const system: TextBlock[] = [];
  const messages: MessageParam[] = [];
  const push = (role: 'user' | 'assistant', blocks: ContentBlock[]): void => {
    if (blocks.length === 0) return;
    const last = messages.at(-1);
    // Anthropic wants alternating turns: consecutive same-role turns (parallel tool results,
    // a user note after them) are merged into one.
    if (last && last.role === role && Array.isArray(last.content)) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  input.forEach((m, i) => {
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(...textBlocks(m.content, `messages[${i}].content`));
        return;
      case 'user':
        push('user', userBlocks(m.content, `messages[${i}].content`));
        return;
      case 'assistant':
        push('assistant', assistantBlocks(m, i));
        return;
      case 'tool':
        if (typeof m.tool_call_id !== 'string') invalid(`messages[${i}].tool_call_id`, `'messages[${i}].tool_call_id' is required for tool messages.`);
        push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id, content: toolResultContent(m.content, `messages[${i}].content`) }]);
        return;
      case 'function':
        refuse(`messages[${i}].role`, "('function', deprecated) is not supported by Anthropic deployments; use tools");
    }
  });
  if (messages.length === 0) invalid('messages', 'Anthropic needs at least one user or assistant message besides the system prompt.');
  // A single plain system text stays a string (the common case, and the shortest body).
  const only = system.length === 1 ? system[0] : undefined;
  const sys = system.length === 0 ? undefined : only && only.cache_control === undefined ? only.text : system;
  return { system: sys, messages: messages.map(simplify) };
}

/** A user turn of one uncached text block is sent as a plain string. */
function simplify(m: MessageParam): MessageParam {
  if (!Array.isArray(m.content) || m.content.length !== 1) return m;
  const only = m.content[0] as TextBlock;
  return only.type === 'text' && only.cache_control === undefined ? { role: m.role, content: only.text } : m;
}

function textBlock(text: string, part?: ContentPart): TextBlock {
  const block: TextBlock = { type: 'text', text };
  if (part && isObject(part.cache_control)) block.cache_control = part.cache_control;
  return block;
}

function textBlocks(content: ChatMessage['content'], param: string): TextBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [textBlock(content)];
  if (!Array.isArray(content)) return [];
  return content.map((part, j) => {
    if (part.type !== 'text' || typeof part.text !== 'string') refuse(`${param}[${j}].type`, `('${part.type}') is not supported here by Anthropic deployments`);
    return textBlock(part.text, part);
  }).filter((b) => b.text !== '');
}

function userBlocks(content: ChatMessage['content'], param: string): ContentBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [textBlock(content)];
  if (!Array.isArray(content)) return [];
  const blocks: ContentBlock[] = [];
  content.forEach((part, j) => {
    if (part.type === 'text' && typeof part.text === 'string') {
      if (part.text !== '') blocks.push(textBlock(part.text, part));
    } else if (part.type === 'image_url') blocks.push(imageBlock(part, `${param}[${j}]`));
    else refuse(`${param}[${j}].type`, `('${part.type}') is not supported by Anthropic deployments`);
  });
  return blocks;
}

const dataUrl = /^data:(image\/(?:jpeg|png|gif|webp));base64,([A-Za-z0-9+/=\s]+)$/;

/** `data:` URLs become base64 sources, http(s) URLs url sources; anything else is refused. */
function imageBlock(part: ContentPart, param: string): ContentBlock {
  const url = isObject(part.image_url) ? part.image_url.url : undefined;
  if (typeof url !== 'string') invalid(`${param}.image_url.url`, `'${param}.image_url.url' is required.`);
  const cache = isObject(part.cache_control) ? { cache_control: part.cache_control } : {};
  const m = dataUrl.exec(url);
  if (m) return { type: 'image', source: { type: 'base64', media_type: m[1] as string, data: (m[2] as string).replace(/\s+/g, '') }, ...cache };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url }, ...cache };
  return invalid(`${param}.image_url.url`, 'Anthropic accepts images as http(s) URLs or base64 data URLs of JPEG, PNG, GIF or WebP.');
}

function assistantBlocks(m: ChatMessage, i: number): ContentBlock[] {
  // A refusal part in the history is the model's own earlier answer, not an instruction.
  const content = Array.isArray(m.content) ? m.content.filter((p) => p.type !== 'refusal') : m.content;
  const blocks: ContentBlock[] = textBlocks(content, `messages[${i}].content`);
  (m.tool_calls ?? []).forEach((call, j) => {
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments, `messages[${i}].tool_calls[${j}].function.arguments`) });
  });
  return blocks;
}

/** Tool arguments are a JSON string in OpenAI and an object in Anthropic; "" means no arguments. */
function toolInput(args: string, param: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    return invalid(param, `'${param}' is not valid JSON; Anthropic needs tool arguments as a JSON object.`);
  }
  if (!isObject(parsed)) invalid(param, `'${param}' must encode a JSON object for Anthropic.`);
  return parsed;
}

function toolResultContent(content: ChatMessage['content'], param: string): string | TextBlock[] {
  if (typeof content === 'string' || content == null) return content ?? '';
  return textBlocks(content, param);
}

function translateTools(tools: unknown): ToolDefinition[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) invalid('tools', "'tools' must be an array.");
  return tools.map((t: unknown, i) => {
    if (!isObject(t) || t.type !== 'function' || !isObject(t.function) || typeof t.function.name !== 'string') {
      return refuse(`tools[${i}].type`, "must be 'function' with a name for Anthropic deployments");
    }
    const f = t.function;
    const def: ToolDefinition = { name: f.name as string, input_schema: isObject(f.parameters) ? f.parameters : { type: 'object', properties: {} } };
    if (typeof f.description === 'string') def.description = f.description;
    if (typeof f.strict === 'boolean') def.strict = f.strict;
    return def;
  });
}

function translateToolChoice(choice: unknown, parallel: unknown): ToolChoice | undefined {
  const noParallel = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined || choice === null) return parallel === false ? { type: 'auto', ...noParallel } : undefined;
  if (choice === 'auto') return { type: 'auto', ...noParallel };
  if (choice === 'required') return { type: 'any', ...noParallel };
  if (choice === 'none') return { type: 'none' };
  if (isObject(choice) && choice.type === 'function' && isObject(choice.function) && typeof choice.function.name === 'string') {
    return { type: 'tool', name: choice.function.name, ...noParallel };
  }
  return refuse('tool_choice', "must be 'auto', 'none', 'required' or a named function for Anthropic deployments");
}

/** `json_schema` maps to Anthropic's native structured output; `json_object` has no equivalent. */
function translateResponseFormat(format: unknown): { type: 'json_schema'; schema: unknown } | undefined {
  if (format === undefined || format === null) return undefined;
  if (isObject(format) && format.type === 'text') return undefined;
  if (isObject(format) && format.type === 'json_schema' && isObject(format.json_schema) && isObject(format.json_schema.schema)) {
    return { type: 'json_schema', schema: format.json_schema.schema };
  }
  return refuse('response_format', "must be 'text' or 'json_schema' with a schema for Anthropic deployments");
}

/**
 * The `POST {base}/v1/messages` call for a body already in Anthropic's shape. `anthropic-version`
 * is the deployment's `apiVersion` (default 2023-06-01); credentials (x-api-key, or Bearer for
 * 2026-10-21) are added by upstream/, never here.
 */
export function messagesCall(body: Record<string, unknown>, target: TargetInfo, stream: boolean): UpstreamCall {
  return {
    method: 'POST',
    path: `${target.basePath}/v1/messages`,
    headers: {
      'content-type': 'application/json',
      accept: stream ? 'text/event-stream' : 'application/json',
      'anthropic-version': target.apiVersion ?? defaultAnthropicVersion,
    },
    body: JSON.stringify(body),
  };
}
