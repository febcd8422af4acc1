import { isRecord } from '../../is-record.js';

/**
 * The request checks the fake Bedrock applies before answering, modelled on the real service's
 * ValidationException messages: unknown keys are refused (Bedrock's JSON protocol rejects
 * extraneous keys), content blocks are unions with exactly one member, text may not be blank,
 * roles alternate starting with the user, and tool blocks need a toolConfig. A gateway request
 * the real service would refuse should be refused here too.
 */


const TOP_LEVEL = new Set([
  'messages',
  'system',
  'inferenceConfig',
  'toolConfig',
  'guardrailConfig',
  'additionalModelRequestFields',
  'additionalModelResponseFieldPaths',
  'promptVariables',
  'requestMetadata',
  'performanceConfig',
  'outputConfig',
]);
const BLOCKS = new Set(['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'guardContent', 'cachePoint', 'reasoningContent']);
const INFERENCE = new Set(['maxTokens', 'temperature', 'topP', 'stopSequences']);
const IMAGE_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp']);

/** Returns the ValidationException message for a bad Converse body, or undefined when it is fine. */
export function converseValidationError(body: unknown): string | undefined {
  if (!isRecord(body)) return 'Malformed input request, please reformat your input and try again.';
  for (const key of Object.keys(body)) if (!TOP_LEVEL.has(key)) return `Malformed input request: extraneous key [${key}] is not permitted, please reformat your input and try again.`;
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
  let toolBlocks = false;
  for (const [i, m] of messages.entries()) {
    if (!isRecord(m) || (m['role'] !== 'user' && m['role'] !== 'assistant')) return `messages.${i}.role: must be one of user, assistant.`;
    if (i === 0 && m['role'] !== 'user') return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
    if (i > 0 && (messages[i - 1] as Record<string, unknown>)['role'] === m['role']) return 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.';
    const content = m['content'];
    if (!Array.isArray(content) || content.length === 0) return `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`;
    for (const [j, block] of content.entries()) {
      const problem = blockError(block, `messages.${i}.content.${j}`, m['role'] as string);
      if (problem) return problem;
      if (isRecord(block) && ('toolUse' in block || 'toolResult' in block)) toolBlocks = true;
    }
  }
  const system = body['system'];
  if (system !== undefined && (!Array.isArray(system) || system.some((s) => !isRecord(s) || typeof s['text'] !== 'string' || s['text'].trim() === ''))) {
    return 'system: each SystemContentBlock must have a non-blank text field.';
  }
  const inference = body['inferenceConfig'];
  if (inference !== undefined) {
    if (!isRecord(inference)) return 'inferenceConfig: must be an object.';
    for (const key of Object.keys(inference)) if (!INFERENCE.has(key)) return `Malformed input request: extraneous key [${key}] is not permitted, please reformat your input and try again.`;
    const max = inference['maxTokens'];
    if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 1)) return 'inferenceConfig.maxTokens: must be an integer >= 1.';
  }
  const toolConfig = body['toolConfig'];
  if (toolConfig !== undefined) {
    const problem = toolConfigError(toolConfig);
    if (problem) return problem;
  } else if (toolBlocks) {
    return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  }
  const outputConfig = body['outputConfig'];
  if (outputConfig !== undefined) {
    const format = isRecord(outputConfig) ? outputConfig['textFormat'] : undefined;
    const structure = isRecord(format) && format['type'] === 'json_schema' ? format['structure'] : undefined;
    const schema = isRecord(structure) && isRecord(structure['jsonSchema']) ? structure['jsonSchema']['schema'] : undefined;
    if (typeof schema !== 'string' || !isJson(schema)) return 'outputConfig.textFormat: a json_schema with structure.jsonSchema.schema as a JSON string is required.';
  }
  return undefined;
}

function blockError(block: unknown, at: string, role: string): string | undefined {
  if (!isRecord(block)) return `${at}: must be a ContentBlock object.`;
  const members = Object.keys(block);
  if (members.length !== 1 || !BLOCKS.has(members[0] as string)) return `${at}: a ContentBlock must have exactly one member (got ${members.join(', ') || 'none'}).`;
  if ('text' in block && (typeof block['text'] !== 'string' || block['text'].trim() === '')) {
    return `The text field in the ContentBlock object at ${at} is blank. Add text to the text field, and try again.`;
  }
  if ('image' in block) {
    const image = block['image'];
    const source = isRecord(image) ? image['source'] : undefined;
    if (!isRecord(image) || !IMAGE_FORMATS.has(String(image['format'])) || !isRecord(source) || typeof source['bytes'] !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(source['bytes'])) {
      return `${at}.image: needs format (png, jpeg, gif, webp) and source.bytes as base64.`;
    }
  }
  if ('toolUse' in block) {
    const use = block['toolUse'];
    if (role !== 'assistant' || !isRecord(use) || typeof use['toolUseId'] !== 'string' || typeof use['name'] !== 'string' || !isRecord(use['input'])) {
      return `${at}.toolUse: needs toolUseId, name and an input object, in an assistant message.`;
    }
  }
  if ('toolResult' in block) {
    const result = block['toolResult'];
    if (role !== 'user' || !isRecord(result) || typeof result['toolUseId'] !== 'string' || !Array.isArray(result['content'])) {
      return `${at}.toolResult: needs toolUseId and a content array, in a user message.`;
    }
  }
  return undefined;
}

function toolConfigError(toolConfig: unknown): string | undefined {
  if (!isRecord(toolConfig) || !Array.isArray(toolConfig['tools']) || toolConfig['tools'].length === 0) return 'toolConfig.tools: must be a non-empty list.';
  for (const [i, tool] of toolConfig['tools'].entries()) {
    const spec = isRecord(tool) ? tool['toolSpec'] : undefined;
    const schema = isRecord(spec) && isRecord(spec['inputSchema']) ? spec['inputSchema']['json'] : undefined;
    if (!isRecord(spec) || typeof spec['name'] !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(spec['name']) || !isRecord(schema)) {
      return `toolConfig.tools.${i}.toolSpec: needs a name ([a-zA-Z0-9_-]{1,64}) and inputSchema.json as an object.`;
    }
  }
  const choice = toolConfig['toolChoice'];
  if (choice !== undefined && (!isRecord(choice) || Object.keys(choice).length !== 1 || !['auto', 'any', 'tool'].includes(Object.keys(choice)[0] as string))) {
    return 'toolConfig.toolChoice: must have exactly one of auto, any or tool.';
  }
  return undefined;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
