import { UpstreamProtocolError } from './types.js';

/**
 * The JSON of one stream event (SSE data or NDJSON line). Data that is not JSON is a protocol
 * error, reported with `notJson` so each translator names its own framing in the message.
 */
export function parseStreamJson(data: string, notJson = 'stream event is not JSON'): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    throw new UpstreamProtocolError(notJson);
  }
}
