import type { ChatMessage } from './chat-types.js';
import { isRecord } from '../is-record.js';

/**
 * Finding content an upstream would fetch by itself. A self-hosted engine (vLLM, Ollama,
 * Triton, any OpenAI-compatible server) that is handed an image or audio URL downloads it from
 * inside its own network, so a client could make it reach addresses only that network sees
 * (SSRF). `data:` URLs carry their bytes and are never fetched. Deployments that refuse remote
 * media (`deployments.X.allowRemoteMedia`) answer 400 naming the part these functions return.
 */

/** A URL an upstream would fetch: anything but `data:` (leading whitespace and case ignored, as URL parsers do). */
function isRemote(url: string): boolean {
  return !/^[\x00-\x20]*data:/i.test(url);
}

/**
 * OpenAI chat content: the first part whose payload (`part[part.type]`) is a URL or holds one in
 * `url` (`image_url`, and vLLM's `audio_url`, `video_url`, `image_url` as a bare string), as
 * `messages[i].content[j].<type>.url` (or `.<type>` for a bare string); undefined when none. Linear in the number of parts.
 */
export function chatRemoteMedia(messages: readonly ChatMessage[]): string | undefined {
  for (let i = 0; i < messages.length; i++) {
    const content = messages[i]!.content;
    if (!Array.isArray(content)) continue;
    for (let j = 0; j < content.length; j++) {
      const part: unknown = content[j];
      if (!isRecord(part) || typeof part.type !== 'string' || part.type === 'text') continue;
      const payload = Object.hasOwn(part, part.type) ? part[part.type] : undefined;
      const param = `messages[${i}].content[${j}].${part.type}`;
      if (typeof payload === 'string' && isRemote(payload)) return param;
      if (isRecord(payload) && typeof payload.url === 'string' && isRemote(payload.url)) return `${param}.url`;
    }
  }
  return undefined;
}

/**
 * Anthropic Messages content: the first block whose `source` is `{type: "url"}` (images,
 * documents), in a message or inside a `tool_result`, as `messages[i].content[j].source.url` (or
 * `…content[j].content[k].source.url`); undefined when none.
 */
export function messagesRemoteMedia(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (!isRecord(m) || !Array.isArray(m.content)) continue;
    for (let j = 0; j < m.content.length; j++) {
      const blk: unknown = m.content[j];
      if (!isRecord(blk)) continue;
      const param = `messages[${i}].content[${j}]`;
      if (urlSource(blk)) return `${param}.source.url`;
      if (blk.type === 'tool_result' && Array.isArray(blk.content)) {
        for (let k = 0; k < blk.content.length; k++) if (urlSource(blk.content[k])) return `${param}.content[${k}].source.url`;
      }
    }
  }
  return undefined;
}

function urlSource(blk: unknown): boolean {
  if (!isRecord(blk) || !isRecord(blk.source) || blk.source.type !== 'url') return false;
  return typeof blk.source.url !== 'string' || isRemote(blk.source.url);
}

/** A Responses content part's URL the upstream would fetch (`input_image.image_url`, `input_file.file_url`), as its key. */
function responsesPartUrl(part: unknown): string | undefined {
  if (!isRecord(part)) return undefined;
  if (part.type === 'input_image' && typeof part.image_url === 'string' && isRemote(part.image_url)) return 'image_url';
  if (part.type === 'input_file' && typeof part.file_url === 'string' && isRemote(part.file_url)) return 'file_url';
  return undefined;
}

/**
 * Responses API input (sent natively): the first content part, of a message or of a function
 * call's output, with a URL the upstream would fetch, as `input[i].content[j].image_url` (or
 * `input[i].output[j].file_url`); undefined when none. Linear in the number of parts.
 */
export function responsesRemoteMedia(input: unknown): string | undefined {
  if (!Array.isArray(input)) return undefined;
  for (let i = 0; i < input.length; i++) {
    const item: unknown = input[i];
    if (!isRecord(item)) continue;
    for (const key of ['content', 'output'] as const) {
      const parts = item[key];
      if (!Array.isArray(parts)) continue;
      for (let j = 0; j < parts.length; j++) {
        const url = responsesPartUrl(parts[j]);
        if (url !== undefined) return `input[${i}].${key}[${j}].${url}`;
      }
    }
  }
  return undefined;
}
