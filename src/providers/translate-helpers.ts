import type { ChatMessage, ContentPart } from '../api/chat-types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { isRecord } from '../is-record.js';
import { parseToolArguments } from '../api/tool-arguments.js';

/**
 * Small pieces shared by the translators of non-OpenAI protocols (Gemini, Ollama): the 400s for
 * values a protocol cannot carry, reading data URLs, and the tool-call ids those protocols lack.
 * Pure functions; they throw GatewayError (400) for client input a provider cannot express.
 */

export function unsupported(param: string, message: string): GatewayError {
  return new GatewayError('unsupported_parameter', message, { param });
}

export function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

/** A `data:<mime>;base64,<data>` URL split into its parts; undefined for anything else. */
export function parseDataUrl(url: string): { mimeType: string; data: string } | undefined {
  const match = /^data:([\w.+-]+\/[\w.+-]+)(?:;[\w-]+=[^;,]*)*;base64,([A-Za-z0-9+/=\s]*)$/.exec(url);
  if (match === null) return undefined;
  return { mimeType: match[1] as string, data: (match[2] as string).replace(/\s+/g, '') };
}

/** The parts of a message's content: a string becomes one text part; null/absent none. */
export function contentParts(content: ChatMessage['content']): ContentPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content : [];
}

/** The image URL of an `image_url` part, or throws naming where the part is. */
export function imageUrlOf(part: ContentPart, at: string): string {
  const image = part['image_url'];
  const url = typeof image === 'string' ? image : isRecord(image) ? image['url'] : undefined;
  if (typeof url !== 'string') throw invalid(`${at}.image_url.url`, `'${at}.image_url.url' must be a string.`);
  return url;
}

/** Arguments of an OpenAI tool call (a JSON string) as the object other protocols want. */
export function toolArguments(raw: string, at: string): Record<string, unknown> {
  const parsed = parseToolArguments(raw);
  if (!parsed.ok) throw invalid(at, `'${at}' must be a JSON object encoded as a string.`);
  return parsed.value;
}

/** Maps each assistant tool-call id to its function name, so tool results can name the function. */
export function toolNamesById(messages: readonly ChatMessage[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of messages) for (const call of m.tool_calls ?? []) names.set(call.id, call.function.name);
  return names;
}

/** The function name a tool message answers; throws when its tool_call_id matches no earlier call. */
export function toolResultName(m: ChatMessage, names: ReadonlyMap<string, string>, at: string): string {
  const name = m.tool_call_id === undefined ? undefined : names.get(m.tool_call_id);
  if (name === undefined) {
    throw invalid(`${at}.tool_call_id`, `'${at}.tool_call_id' does not match a tool call of an earlier assistant message.`);
  }
  return name;
}

/** Text of a message whose content may only be text (system, tool); other parts are refused. */
export function textOnly(m: ChatMessage, at: string, provider: string): string {
  let out = '';
  for (const [j, part] of contentParts(m.content).entries()) {
    if (part.type !== 'text' || typeof part.text !== 'string') {
      throw unsupported(`${at}.content[${j}]`, `${provider} deployments accept only text content in '${m.role}' messages.`);
    }
    out += part.text;
  }
  return out;
}

/**
 * Tool-call ids for protocols that have none (Gemini, Ollama): derived from our completion id,
 * so they are unique per response, stable for tests, and need no clock or random source.
 */
export function toolCallId(completionId: string, n: number): string {
  return `call_${completionId.replace(/^chatcmpl-/, '').replace(/[^A-Za-z0-9]/g, '').slice(0, 24)}_${n}`;
}

/** OpenAI function tools as `{name, description?, parameters?}`; other tool types are refused. */
export function functionTools(body: Readonly<Record<string, unknown>>, provider: string): Array<{ name: string; description?: string; parameters?: Record<string, unknown> }> {
  const tools = body['tools'];
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw invalid('tools', "'tools' must be an array.");
  return tools.map((tool: unknown, i) => {
    if (!isRecord(tool) || tool['type'] !== 'function' || !isRecord(tool['function'])) {
      throw unsupported(`tools[${i}]`, `${provider} deployments support only tools of type 'function'.`);
    }
    const fn = tool['function'];
    if (typeof fn['name'] !== 'string' || fn['name'] === '') throw invalid(`tools[${i}].function.name`, `'tools[${i}].function.name' must be a non-empty string.`);
    const out: { name: string; description?: string; parameters?: Record<string, unknown> } = { name: fn['name'] };
    if (typeof fn['description'] === 'string') out.description = fn['description'];
    if (isRecord(fn['parameters'])) out.parameters = fn['parameters'];
    return out;
  });
}

/** `response_format` as a small union; throws for shapes OpenAI does not define. */
export type ResponseFormat = { kind: 'text' } | { kind: 'json' } | { kind: 'schema'; schema: Record<string, unknown> };

export function responseFormat(body: Readonly<Record<string, unknown>>): ResponseFormat {
  const rf = body['response_format'];
  if (rf === undefined || rf === null) return { kind: 'text' };
  if (!isRecord(rf)) throw invalid('response_format', "'response_format' must be an object.");
  switch (rf['type']) {
    case 'text':
      return { kind: 'text' };
    case 'json_object':
      return { kind: 'json' };
    case 'json_schema': {
      const js = rf['json_schema'];
      if (!isRecord(js)) throw invalid('response_format.json_schema', "'response_format.json_schema' must be an object.");
      // A json_schema format without a schema asks only for JSON.
      return isRecord(js['schema']) ? { kind: 'schema', schema: js['schema'] } : { kind: 'json' };
    }
    default:
      throw invalid('response_format.type', "'response_format.type' must be 'text', 'json_object' or 'json_schema'.");
  }
}

/** `stop` as an array of strings (absent: empty). */
export function stopSequences(body: Readonly<Record<string, unknown>>): string[] {
  const stop = body['stop'];
  if (typeof stop === 'string') return [stop];
  return Array.isArray(stop) ? stop.filter((s): s is string => typeof s === 'string') : [];
}

// The plain-object check lives in one place; providers import it from here.
export { isRecord };
