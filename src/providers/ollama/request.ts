import type { ChatMessage, ChatRequest } from '../../api/chat-types.js';
import {
  contentParts,
  functionTools,
  imageUrlOf,
  parseDataUrl,
  responseFormat,
  stopSequences,
  textOnly,
  toolArguments,
  toolNamesById,
  toolResultName,
  unsupported,

} from '../translate-helpers.js';
import type { TargetInfo, UpstreamCall } from '../types.js';
import type { OllamaChatRequest, OllamaMessage, OllamaOptions } from './wire.js';

const provider = 'Ollama';

/**
 * Builds `POST /api/chat` with an explicit `stream` (Ollama's default is to stream) for a request
 * whose fields passed parameters.ts. Throws GatewayError (400) for values Ollama cannot express.
 */
export function ollamaChatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall {
  const b = request.body;
  const body: OllamaChatRequest = { model: target.upstreamModel, messages: messages(request.messages), stream: request.stream };
  const tools = functionTools(b, provider);
  // Ollama has no tool_choice: "none" is expressed by not offering the tools, "auto" is its only mode.
  const choice = b['tool_choice'];
  if (choice !== undefined && choice !== null && choice !== 'auto' && choice !== 'none') {
    throw unsupported('tool_choice', "Ollama deployments support only 'tool_choice' auto or none.");
  }
  if (tools.length > 0 && choice !== 'none') body.tools = tools.map((t) => ({ type: 'function', function: t }));
  const format = responseFormat(b);
  if (format.kind === 'json') body.format = 'json';
  if (format.kind === 'schema') body.format = format.schema;
  const options = ollamaOptions(request);
  if (Object.keys(options).length > 0) body.options = options;
  return {
    method: 'POST',
    path: `${target.basePath}/api/chat`,
    headers: { 'content-type': 'application/json', accept: request.stream ? 'application/x-ndjson' : 'application/json' },
    body: JSON.stringify(body),
  };
}

function ollamaOptions(request: ChatRequest): OllamaOptions {
  const b = request.body;
  const options: OllamaOptions = {};
  if (typeof b['temperature'] === 'number') options.temperature = b['temperature'];
  if (typeof b['top_p'] === 'number') options.top_p = b['top_p'];
  if (typeof b['top_k'] === 'number') options.top_k = b['top_k'];
  if (typeof b['seed'] === 'number') options.seed = b['seed'];
  const stop = stopSequences(b);
  if (stop.length > 0) options.stop = stop;
  if (request.maxOutputTokens !== undefined) options.num_predict = request.maxOutputTokens;
  if (typeof b['presence_penalty'] === 'number') options.presence_penalty = b['presence_penalty'];
  if (typeof b['frequency_penalty'] === 'number') options.frequency_penalty = b['frequency_penalty'];
  return options;
}

function messages(list: readonly ChatMessage[]): OllamaMessage[] {
  const names = toolNamesById(list);
  return list.map((m, i) => {
    const at = `messages[${i}]`;
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: textOnly(m, at, provider) };
      case 'user':
        return userMessage(m, at);
      case 'assistant':
        return assistantMessage(m, at);
      case 'tool':
        return { role: 'tool', content: textOnly(m, at, provider), tool_name: toolResultName(m, names, at) };
      case 'function':
        throw unsupported(`${at}.role`, "Ollama deployments do not support the deprecated 'function' role; use 'tool'.");
    }
  });
}

function userMessage(m: ChatMessage, at: string): OllamaMessage {
  let content = '';
  const images: string[] = [];
  for (const [j, part] of contentParts(m.content).entries()) {
    const partAt = `${at}.content[${j}]`;
    if (part.type === 'text' && typeof part.text === 'string') {
      content += content === '' ? part.text : `\n${part.text}`;
    } else if (part.type === 'image_url') {
      const data = parseDataUrl(imageUrlOf(part, partAt));
      if (data === undefined) throw unsupported(`${partAt}.image_url.url`, 'Ollama deployments accept images only as base64 data URLs (data:image/png;base64,…).');
      images.push(data.data);
    } else {
      throw unsupported(`${partAt}.type`, `Ollama deployments do not support content parts of type '${part.type}'.`);
    }
  }
  return images.length > 0 ? { role: 'user', content, images } : { role: 'user', content };
}

function assistantMessage(m: ChatMessage, at: string): OllamaMessage {
  let content = '';
  for (const [j, part] of contentParts(m.content).entries()) {
    if (part.type === 'text' && typeof part.text === 'string') content += part.text;
    else if (part.type === 'refusal' && typeof part['refusal'] === 'string') content += part['refusal'];
    else throw unsupported(`${at}.content[${j}]`, 'Ollama deployments accept only text in assistant messages.');
  }
  const out: OllamaMessage = { role: 'assistant', content };
  const calls = m.tool_calls ?? [];
  if (calls.length > 0) {
    out.tool_calls = calls.map((call, j) => ({
      function: { name: call.function.name, arguments: toolArguments(call.function.arguments, `${at}.tool_calls[${j}].function.arguments`) },
    }));
  }
  return out;
}

