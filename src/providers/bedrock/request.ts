import type { ChatMessage, ChatRequest, ContentPart } from '../../api/chat-types.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { TargetInfo, UpstreamCall } from '../types.js';
import { isObject } from './error.js';
import type {
  ConverseContentBlock,
  ConverseMessage,
  ConverseOutputConfig,
  ConverseRequest,
  ConverseRole,
  ConverseToolChoice,
  ConverseToolSpec,
  ImageFormat,
} from './wire.js';

function unsupported(param: string, why = `The '${param}' parameter is not supported by Bedrock deployments.`): GatewayError {
  return new GatewayError('unsupported_parameter', why, { param });
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

/** The path segment for a model id, inference-profile id or ARN: every reserved character escaped (as the AWS SDK does). */
export function modelPathSegment(modelId: string): string {
  return encodeURIComponent(modelId).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Builds the Converse / ConverseStream call for a chat request whose fields passed
 * parameters.ts. Throws GatewayError (400) for values Converse cannot express.
 */
export function bedrockChatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall {
  const b = request.body;
  const { system, messages } = translateMessages(request.messages);
  const body: ConverseRequest = { messages };
  if (system.length > 0) body.system = system;

  const inference: NonNullable<ConverseRequest['inferenceConfig']> = {};
  if (request.maxOutputTokens !== undefined) inference.maxTokens = request.maxOutputTokens;
  if (typeof b.temperature === 'number') inference.temperature = b.temperature;
  if (typeof b.top_p === 'number') inference.topP = b.top_p;
  if (typeof b.stop === 'string') inference.stopSequences = [b.stop];
  else if (Array.isArray(b.stop)) inference.stopSequences = b.stop.map(String);
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;

  const toolConfig = translateTools(b.tools, b.tool_choice, messages);
  if (toolConfig) body.toolConfig = toolConfig;
  const outputConfig = translateResponseFormat(b.response_format);
  if (outputConfig) body.outputConfig = outputConfig;
  if (b.metadata !== undefined && b.metadata !== null) body.requestMetadata = translateMetadata(b.metadata);

  const action = request.stream ? 'converse-stream' : 'converse';
  return {
    method: 'POST',
    path: `${target.basePath}/model/${modelPathSegment(target.upstreamModel)}/${action}`,
    headers: { 'content-type': 'application/json', accept: request.stream ? 'application/vnd.amazon.eventstream' : 'application/json' },
    body: JSON.stringify(body),
  };
}

/**
 * OpenAI messages → Converse: system and developer messages become `system` blocks wherever
 * they are; tool results become `toolResult` blocks in a user turn; consecutive turns of one
 * role are merged, because Converse requires user and assistant to alternate.
 */
export function translateMessages(input: readonly ChatMessage[]): { system: Array<{ text: string }>; messages: ConverseMessage[] } {
  const system: Array<{ text: string }> = [];
  const messages: ConverseMessage[] = [];
  const push = (role: ConverseRole, blocks: ConverseContentBlock[]): void => {
    const last = messages.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  input.forEach((m, i) => {
    const at = `messages[${i}]`;
    switch (m.role) {
      case 'system':
      case 'developer':
        for (const text of textsOf(m.content, at)) if (text !== '') system.push({ text });
        return;
      case 'user':
        return push('user', nonEmpty(userBlocks(m.content, at), at));
      case 'assistant':
        return push('assistant', nonEmpty(assistantBlocks(m, at), at));
      case 'tool': {
        if (typeof m.tool_call_id !== 'string' || m.tool_call_id === '') throw invalid(`${at}.tool_call_id`, `'${at}.tool_call_id' is required for tool messages.`);
        const texts = textsOf(m.content, at).filter((t) => t !== '');
        const content = texts.length > 0 ? texts.map((text) => ({ text })) : [{ text: '(empty)' }];
        return push('user', [{ toolResult: { toolUseId: m.tool_call_id, content } }]);
      }
      case 'function':
        throw unsupported(`${at}.role`, "Bedrock deployments do not support the deprecated 'function' role; use tools.");
    }
  });
  return { system, messages };
}

function nonEmpty(blocks: ConverseContentBlock[], at: string): ConverseContentBlock[] {
  if (blocks.length === 0) throw invalid(`${at}.content`, `'${at}' has no content; Bedrock does not accept empty messages.`);
  return blocks;
}

/** Text of string content or text parts; other part types are refused (system, developer, tool roles). */
function textsOf(content: ChatMessage['content'], at: string): string[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return [content];
  return content.map((part, j) => {
    if (part.type !== 'text' || typeof part.text !== 'string') throw unsupported(`${at}.content[${j}]`, `Content parts of type '${part.type}' are not supported in '${at}' by Bedrock deployments.`);
    return part.text;
  });
}

function userBlocks(content: ChatMessage['content'], at: string): ConverseContentBlock[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  const blocks: ConverseContentBlock[] = [];
  content.forEach((part, j) => {
    const where = `${at}.content[${j}]`;
    if (part.type === 'text' && typeof part.text === 'string') {
      if (part.text !== '') blocks.push({ text: part.text });
    } else if (part.type === 'image_url') blocks.push(imageBlock(part, where));
    else throw unsupported(where, `Content parts of type '${part.type}' are not supported by Bedrock deployments.`);
  });
  return blocks;
}

const dataUrl = /^data:image\/(png|jpe?g|gif|webp);base64,([A-Za-z0-9+/=\s]+)$/i;

/** Converse takes image bytes (base64 in JSON); it cannot fetch URLs, so only data: URLs work. */
function imageBlock(part: ContentPart, where: string): ConverseContentBlock {
  const url = isObject(part.image_url) ? part.image_url.url : undefined;
  if (typeof url !== 'string') throw invalid(`${where}.image_url.url`, `'${where}.image_url.url' must be a string.`);
  const match = dataUrl.exec(url);
  if (!match) {
    throw unsupported(`${where}.image_url.url`, 'Bedrock deployments accept images only as data: URLs (base64 PNG, JPEG, GIF or WebP), not as links.');
  }
  const subtype = (match[1] as string).toLowerCase();
  const format: ImageFormat = subtype === 'jpg' ? 'jpeg' : (subtype as ImageFormat);
  return { image: { format, source: { bytes: (match[2] as string).replace(/\s+/g, '') } } };
}

function assistantBlocks(m: ChatMessage, at: string): ConverseContentBlock[] {
  const blocks: ConverseContentBlock[] = [];
  if (typeof m.content === 'string') {
    if (m.content !== '') blocks.push({ text: m.content });
  } else if (Array.isArray(m.content)) {
    m.content.forEach((part, j) => {
      if (part.type === 'text' && typeof part.text === 'string') {
        if (part.text !== '') blocks.push({ text: part.text });
      } else if (part.type !== 'refusal') {
        throw unsupported(`${at}.content[${j}]`, `Content parts of type '${part.type}' are not supported in assistant messages by Bedrock deployments.`);
      }
    });
  }
  (m.tool_calls ?? []).forEach((call, j) => {
    const where = `${at}.tool_calls[${j}].function.arguments`;
    let input: unknown;
    try {
      input = call.function.arguments.trim() === '' ? {} : JSON.parse(call.function.arguments);
    } catch {
      throw invalid(where, `'${where}' is not valid JSON; Bedrock needs tool-call arguments as a JSON object.`);
    }
    if (!isObject(input)) throw invalid(where, `'${where}' must be a JSON object for Bedrock deployments.`);
    blocks.push({ toolUse: { toolUseId: call.id, name: call.function.name, input } });
  });
  return blocks;
}

function translateTools(tools: unknown, choice: unknown, messages: readonly ConverseMessage[]): ConverseRequest['toolConfig'] | undefined {
  const hasTools = Array.isArray(tools) && tools.length > 0;
  const toolHistory = messages.some((m) => m.content.some((c) => 'toolUse' in c || 'toolResult' in c));
  if (toolHistory && !hasTools) {
    // Converse refuses tool blocks without a toolConfig; say so before a wasted round trip.
    throw unsupported('tools', "Bedrock deployments need the tool definitions ('tools') whenever the conversation contains tool calls or tool results.");
  }
  if (choice === 'none') {
    // Converse has no "none": leaving the tools out is the same, unless the history holds tool
    // blocks, which Converse accepts only together with a toolConfig.
    if (toolHistory && hasTools) throw unsupported('tool_choice', "Bedrock deployments cannot forbid tool use once tool calls are in the conversation; 'tool_choice: none' is not supported here.");
    return undefined;
  }
  if (!hasTools) {
    if (choice !== undefined && choice !== null) throw invalid('tool_choice', "'tool_choice' is only allowed when 'tools' are given.");
    return undefined;
  }
  const specs: ConverseToolSpec[] = (tools as unknown[]).map((tool, i) => {
    if (!isObject(tool) || tool.type !== 'function' || !isObject(tool.function)) {
      throw unsupported(`tools[${i}]`, "Bedrock deployments support tools of type 'function' only.");
    }
    const fn = tool.function;
    if (typeof fn.name !== 'string' || fn.name === '') throw invalid(`tools[${i}].function.name`, `'tools[${i}].function.name' is required.`);
    const spec: ConverseToolSpec['toolSpec'] = { name: fn.name, inputSchema: { json: fn.parameters ?? { type: 'object', properties: {} } } };
    if (typeof fn.description === 'string' && fn.description !== '') spec.description = fn.description;
    return { toolSpec: spec };
  });
  const toolChoice = translateToolChoice(choice);
  return toolChoice ? { tools: specs, toolChoice } : { tools: specs };
}

function translateToolChoice(choice: unknown): ConverseToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  if (isObject(choice) && choice.type === 'function' && isObject(choice.function) && typeof choice.function.name === 'string') {
    return { tool: { name: choice.function.name } };
  }
  throw unsupported('tool_choice', "Bedrock deployments support 'tool_choice' values 'auto', 'required', 'none' and a named function only.");
}

/** `json_schema` → Converse structured output (`outputConfig.textFormat`, schema as a JSON string). */
function translateResponseFormat(format: unknown): ConverseOutputConfig | undefined {
  if (format === undefined || format === null) return undefined;
  if (!isObject(format)) throw invalid('response_format', "'response_format' must be an object.");
  if (format.type === 'text') return undefined;
  if (format.type !== 'json_schema') {
    throw unsupported('response_format', "Bedrock deployments support 'response_format' of type 'json_schema' (with a schema) or 'text'; JSON mode without a schema is not available.");
  }
  const js = isObject(format.json_schema) ? format.json_schema : undefined;
  if (!js || !isObject(js.schema)) throw invalid('response_format.json_schema.schema', 'Bedrock deployments need a JSON schema in response_format.json_schema.schema.');
  const jsonSchema: ConverseOutputConfig['textFormat']['structure']['jsonSchema'] = { schema: JSON.stringify(js.schema) };
  if (typeof js.name === 'string') jsonSchema.name = js.name;
  if (typeof js.description === 'string') jsonSchema.description = js.description;
  return { textFormat: { type: 'json_schema', structure: { jsonSchema } } };
}

function translateMetadata(metadata: unknown): Record<string, string> {
  if (!isObject(metadata) || Object.values(metadata).some((v) => typeof v !== 'string')) {
    throw invalid('metadata', "'metadata' must be an object of string values.");
  }
  return metadata as Record<string, string>;
}
