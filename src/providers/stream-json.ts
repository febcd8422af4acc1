import { exceedsDepth } from '../http/json-body.js';
import { UpstreamProtocolError } from './types.js';

/**
 * Deepest nesting an upstream body or stream event may have. No provider answer comes near it
 * (tool arguments are strings; native pass-through items nest a few levels), and a deeper one
 * parses (JSON.parse is iterative) but then overflows the stack in every JSON.stringify after it:
 * a native Responses answer nested 20,000 levels was a 500 internal_error, as a bug in the gateway.
 */
export const maxUpstreamJsonDepth = 256;

/** JSON.parse of an upstream body or event, refusing hostile nesting as a protocol error (linear check). */
export function parseUpstreamJson(text: string, notJson: string): unknown {
  if (exceedsDepth(text, maxUpstreamJsonDepth)) throw new UpstreamProtocolError(`${notJson}: nested deeper than ${maxUpstreamJsonDepth} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UpstreamProtocolError(notJson);
  }
}

/**
 * The JSON of one stream event (SSE data or NDJSON line). Data that is not JSON is a protocol
 * error, reported with `notJson` so each translator names its own framing in the message.
 */
export function parseStreamJson(data: string, notJson = 'stream event is not JSON'): unknown {
  return parseUpstreamJson(data, notJson);
}

/** An upstream error body as JSON when it is JSON, else its text (adapters' errorInfo takes either). */
export function parseJsonOrText(text: string | undefined): unknown {
  if (text === undefined) return '';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
