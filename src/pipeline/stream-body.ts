import type { Dispatcher } from 'undici';
import type { StreamStep, StreamTranslator } from '../providers/types.js';
import { createEventDecoder, type EventDecoder, type StreamFraming } from '../upstream/framing.js';
import type { SseEvent } from '../upstream/sse-event.js';

/**
 * Bytes → events (SSE, NDJSON or AWS event-stream) → translated steps. Steps from one network read are merged, so one
 * upstream packet becomes one client write. Stops after a step that is done or carries an
 * error; throws what the body or the translator throws (timeouts, resets, protocol errors).
 */
export async function* translateBody<C>(
  body: Dispatcher.ResponseData['body'],
  translator: StreamTranslator<C>,
  framing: StreamFraming,
): AsyncGenerator<StreamStep<C>, void, undefined> {
  const decoder: EventDecoder = createEventDecoder(framing);
  for await (const buf of body) {
    const step = merge(translator, decoder.push(buf as Uint8Array));
    if (step) {
      yield step;
      if (step.done || step.error) return;
    }
  }
  const tail = merge(translator, decoder.end());
  if (tail) {
    yield tail;
    if (tail.done || tail.error) return;
  }
  yield translator.onEnd();
}

function merge<C>(translator: StreamTranslator<C>, events: readonly SseEvent[]): StreamStep<C> | undefined {
  if (events.length === 0) return undefined;
  if (events.length === 1) return translator.onEvent(events[0] as SseEvent);
  const chunks: C[] = [];
  for (const event of events) {
    const step = translator.onEvent(event);
    chunks.push(...step.chunks);
    if (step.done || step.error) return step.error ? { chunks, done: step.done, error: step.error } : { chunks, done: step.done };
  }
  return { chunks, done: false };
}
