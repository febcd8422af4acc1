import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

/**
 * AWS binary event-stream messages as Bedrock's ConverseStream writes them (protocols.md §5.3):
 * length prefix, headers, JSON payload, prelude and message CRC32s, encoded by Smithy's codec
 * (the one the AWS SDK decodes with).
 */
const codec = new EventStreamCodec(toUtf8, fromUtf8);

const str = (value: string) => ({ type: 'string' as const, value });

/** One `:message-type: event` message carrying `payload` as JSON. */
export function eventFrame(eventType: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: { ':event-type': str(eventType), ':content-type': str('application/json'), ':message-type': str('event') },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

/** One `:message-type: exception` message, e.g. `throttlingException` with `{"message": …}`. */
export function exceptionFrame(exceptionType: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: { ':exception-type': str(exceptionType), ':content-type': str('application/json'), ':message-type': str('exception') },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

/**
 * A recorded line in the decoded form of vercel/ai's fixtures, `{"contentBlockDelta":{…}}`, as
 * the frame that carried it on the wire (event type in a header, the inner object as payload).
 */
export function frameFromDecodedLine(line: string): Uint8Array {
  const parsed = JSON.parse(line) as Record<string, unknown>;
  const keys = Object.keys(parsed);
  if (keys.length !== 1) throw new Error(`expected one event per line, got ${keys.join(', ')}`);
  const eventType = keys[0] as string;
  return eventFrame(eventType, parsed[eventType]);
}

export function concatFrames(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}
