import { isRecord } from '../translate-helpers.js';
import { UpstreamProtocolError } from '../types.js';

/**
 * Triton's generate extension: the request is `{text_input, max_tokens, …sampling fields}` and
 * every response body and stream event is `{text_output}` (a delta in streams), nothing else read.
 */
export function textOutput(body: unknown): string {
  if (!isRecord(body) || typeof body.text_output !== 'string') {
    throw new UpstreamProtocolError('Triton response without a text_output string');
  }
  return body.text_output;
}

