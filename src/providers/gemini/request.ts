import type { ChatMessage, ChatRequest, ContentPart } from '../../api/chat-types.js';
import {
  contentParts,
  functionTools,
  imageUrlOf,
  invalid,
  isRecord,
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
import { splitToolCallId, type GeminiContent, type GeminiFunctionCallingConfig, type GeminiGenerationConfig, type GeminiPart, type GeminiRequest } from './wire.js';

const provider = 'Gemini';

/**
 * Gemini 3 rejects a replayed function call without the thought signature it came with. When the
 * client's history has none (it was not produced through us, or was rebuilt), Google documents
 * this sentinel to skip the check.
 */
export const skipSignature = 'skip_thought_signature_validator';

/**
 * Builds `models/{model}:generateContent` or `:streamGenerateContent?alt=sse` for a request whose
 * fields passed parameters.ts. Throws GatewayError (400) for values Gemini cannot express.
 */
export function geminiChatRequest(request: ChatRequest, target: TargetInfo): UpstreamCall {
  const body = geminiRequestBody(request, target);
  const model = geminiModelSegment(target);
  const path = request.stream ? `${target.basePath}/models/${model}:streamGenerateContent?alt=sse` : `${target.basePath}/models/${model}:generateContent`;
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', accept: request.stream ? 'text/event-stream' : 'application/json' },
    body: JSON.stringify(body),
  };
}

/** The deployment's model as a path segment (`models/` prefix tolerated in config). */
export function geminiModelSegment(target: TargetInfo): string {
  return encodeURIComponent(target.upstreamModel.replace(/^models\//, ''));
}

/** The `GenerateContentRequest` body for a chat request (also what `:countTokens` counts). */
export function geminiRequestBody(request: ChatRequest, target: TargetInfo): GeminiRequest {
  const b = request.body;
  const body: GeminiRequest = { contents: contents(request.messages, /gemini-3/.test(target.upstreamModel)) };
  const system = systemText(request.messages);
  if (system !== undefined) body.systemInstruction = { parts: [{ text: system }] };
  const tools = functionTools(b, provider);
  if (tools.length > 0) {
    body.tools = [
      {
        functionDeclarations: tools.map((t) => ({
          name: t.name,
          ...(t.description === undefined ? {} : { description: t.description }),
          ...(t.parameters === undefined ? {} : { parametersJsonSchema: t.parameters }),
        })),
      },
    ];
  }
  const toolConfig = functionCallingConfig(b['tool_choice'], tools.length > 0);
  if (toolConfig !== undefined) body.toolConfig = { functionCallingConfig: toolConfig };
  const config = generationConfig(request);
  if (Object.keys(config).length > 0) body.generationConfig = config;
  return body;
}

function generationConfig(request: ChatRequest): GeminiGenerationConfig {
  const b = request.body;
  const config: GeminiGenerationConfig = {};
  if (typeof b['temperature'] === 'number') config.temperature = b['temperature'];
  if (typeof b['top_p'] === 'number') config.topP = b['top_p'];
  if (typeof b['top_k'] === 'number') config.topK = b['top_k'];
  if (request.n > 1) config.candidateCount = request.n;
  if (request.maxOutputTokens !== undefined) config.maxOutputTokens = request.maxOutputTokens;
  const stop = stopSequences(b);
  if (stop.length > 0) config.stopSequences = stop;
  if (typeof b['seed'] === 'number') config.seed = b['seed'];
  if (typeof b['presence_penalty'] === 'number') config.presencePenalty = b['presence_penalty'];
  if (typeof b['frequency_penalty'] === 'number') config.frequencyPenalty = b['frequency_penalty'];
  const format = responseFormat(b);
  if (format.kind !== 'text') config.responseMimeType = 'application/json';
  if (format.kind === 'schema') config.responseJsonSchema = format.schema;
  return config;
}

/** OpenAI `tool_choice` → Gemini `functionCallingConfig`; undefined leaves Gemini's default (AUTO). */
function functionCallingConfig(choice: unknown, hasTools: boolean): GeminiFunctionCallingConfig | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'required') return { mode: 'ANY' };
  if (isRecord(choice) && choice['type'] === 'function' && isRecord(choice['function']) && typeof choice['function']['name'] === 'string') {
    if (!hasTools) throw invalid('tool_choice', "'tool_choice' names a function but 'tools' is empty.");
    return { mode: 'ANY', allowedFunctionNames: [choice['function']['name']] };
  }
  if (isRecord(choice) && choice['type'] === 'allowed_tools' && isRecord(choice['allowed_tools'])) {
    const allowed = choice['allowed_tools'];
    const names = Array.isArray(allowed['tools'])
      ? allowed['tools'].map((t: unknown) => (isRecord(t) && isRecord(t['function']) ? t['function']['name'] : undefined)).filter((n): n is string => typeof n === 'string')
      : [];
    // Gemini restricts function names only in ANY mode, so "auto among these" cannot be said.
    if (allowed['mode'] === 'required') return { mode: 'ANY', allowedFunctionNames: names };
    throw unsupported('tool_choice', "Gemini deployments support 'allowed_tools' only with mode 'required'.");
  }
  throw unsupported('tool_choice', "Gemini deployments support 'tool_choice' none, auto, required or a named function.");
}

/** System and developer messages, joined: Gemini has one `systemInstruction`. */
function systemText(messages: readonly ChatMessage[]): string | undefined {
  const texts = messages.flatMap((m, i) => (m.role === 'system' || m.role === 'developer' ? [textOnly(m, `messages[${i}]`, provider)] : []));
  return texts.length === 0 ? undefined : texts.join('\n\n');
}

/** The conversation as Gemini `contents`; consecutive turns of one role are merged (parallel tool results). */
function contents(messages: readonly ChatMessage[], requiresSignatures: boolean): GeminiContent[] {
  const names = toolNamesById(messages);
  const out: GeminiContent[] = [];
  for (const [i, m] of messages.entries()) {
    const at = `messages[${i}]`;
    let turn: GeminiContent;
    switch (m.role) {
      case 'system':
      case 'developer':
        continue;
      case 'user':
        turn = { role: 'user', parts: userParts(m, at) };
        break;
      case 'assistant':
        turn = { role: 'model', parts: modelParts(m, at, requiresSignatures) };
        break;
      case 'tool':
        turn = { role: 'user', parts: [{ functionResponse: { name: toolResultName(m, names, at), response: toolResponse(textOnly(m, at, provider)) } }] };
        break;
      case 'function':
        throw unsupported(`${at}.role`, "Gemini deployments do not support the deprecated 'function' role; use 'tool'.");
    }
    if (turn.parts.length === 0) continue;
    const last = out.at(-1);
    if (last !== undefined && last.role === turn.role) last.parts.push(...turn.parts);
    else out.push(turn);
  }
  if (out.length === 0) throw invalid('messages', 'Gemini deployments need at least one user or assistant message.');
  return out;
}

function userParts(m: ChatMessage, at: string): GeminiPart[] {
  return contentParts(m.content).map((part, j) => userPart(part, `${at}.content[${j}]`));
}

function userPart(part: ContentPart, at: string): GeminiPart {
  switch (part.type) {
    case 'text':
      return { text: typeof part.text === 'string' ? part.text : '' };
    case 'image_url': {
      const data = parseDataUrl(imageUrlOf(part, at));
      // Gemini's fileData takes only URIs it can fetch itself (Files API); inline data always works.
      if (data === undefined) throw unsupported(`${at}.image_url.url`, 'Gemini deployments accept images only as base64 data URLs (data:image/png;base64,…).');
      return { inlineData: data };
    }
    case 'input_audio': {
      const audio = part['input_audio'];
      if (!isRecord(audio) || typeof audio['data'] !== 'string' || typeof audio['format'] !== 'string') {
        throw invalid(`${at}.input_audio`, `'${at}.input_audio' must have string 'data' and 'format'.`);
      }
      return { inlineData: { mimeType: `audio/${audio['format']}`, data: audio['data'] } };
    }
    case 'file': {
      const file = part['file'];
      const data = isRecord(file) && typeof file['file_data'] === 'string' ? parseDataUrl(file['file_data']) : undefined;
      if (data === undefined) throw unsupported(`${at}.file`, 'Gemini deployments accept files only as base64 data URLs in file_data.');
      return { inlineData: data };
    }
    default:
      throw unsupported(`${at}.type`, `Gemini deployments do not support content parts of type '${part.type}'.`);
  }
}

function modelParts(m: ChatMessage, at: string, requiresSignatures: boolean): GeminiPart[] {
  const parts: GeminiPart[] = [];
  for (const [j, part] of contentParts(m.content).entries()) {
    if (part.type === 'text' && typeof part.text === 'string') {
      if (part.text !== '') parts.push({ text: part.text });
    } else if (part.type === 'refusal' && typeof part['refusal'] === 'string') {
      parts.push({ text: part['refusal'] });
    } else {
      throw unsupported(`${at}.content[${j}]`, `Gemini deployments accept only text in assistant messages.`);
    }
  }
  for (const [j, call] of (m.tool_calls ?? []).entries()) {
    const { signature } = splitToolCallId(call.id);
    const part: GeminiPart = { functionCall: { name: call.function.name, args: toolArguments(call.function.arguments, `${at}.tool_calls[${j}].function.arguments`) } };
    // Only the first call of a turn carries a signature, as Gemini returns it for parallel calls.
    const sig = signature ?? (j === 0 && requiresSignatures ? skipSignature : undefined);
    if (sig !== undefined) part.thoughtSignature = sig;
    parts.push(part);
  }
  return parts;
}

/** A tool result as a functionResponse `response` (a JSON object): parsed when it is one, else wrapped. */
function toolResponse(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) return parsed;
    return { result: parsed };
  } catch {
    return { result: text };
  }
}
