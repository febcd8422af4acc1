import type { StreamStep, StreamTranslator } from '../providers/types.js';
import { createEventDecoder, type EventDecoder, type StreamFraming } from '../upstream/framing.js';
import type { SseEvent } from '../upstream/sse-event.js';
import type { UpstreamBody } from '../upstream/streamed-response.js';

/**
 * After the done step, how much more of the body is read (so its connection can be reused)
 * before it is destroyed instead: an upstream that keeps sending, or goes silent, after its
 * last event must not hold the connection (and the pool slot) any longer than this.
 */
export const drainAfterDone = { maxBytes: 64 * 1024, maxMs: 1_000 } as const;

/**
 * Bytes → events (SSE, NDJSON or AWS event-stream) → translated steps. `received` is told how
 * many upstream chunks each network read brought, as it is decoded (before translation). Steps from one network read are merged, so one
 * upstream packet becomes one client write. Yields nothing after a step that is done or carries
 * an error; throws what the body or the translator throws (timeouts, resets, protocol errors).
 *
 * After the done step (OpenAI's `[DONE]`, Anthropic's `message_stop`, …) the body has not
 * ended yet. Pulled once more, the generator reads the rest and drops it, so the body ends
 * normally; past `drainAfterDone.maxBytes` it stops, which destroys the body (the time bound
 * is the caller's, which destroys the body itself). Returned early instead, or failed, the
 * body is destroyed: if the end of the chunked body has not arrived by then, undici must close
 * the connection (and an abort costs an error with its stack, bench/analysis.md).
 */
export async function* translateBody<C>(
  body: UpstreamBody,
  translator: StreamTranslator<C>,
  framing: StreamFraming,
  received?: (chunks: number) => void,
): AsyncGenerator<StreamStep<C>, void, undefined> {
  const decoder: EventDecoder = createEventDecoder(framing);
  let finished = false;
  let drained = 0;
  let ended = false;
  try {
    for (let pieces = await body.read(); pieces !== null; pieces = await body.read()) {
      // What arrived since the last read is decoded as one: one upstream packet, one client write.
      const buf = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
      if (finished) {
        drained += buf.length;
        if (drained > drainAfterDone.maxBytes) return;
        continue;
      }
      const events = decoder.push(buf);
      received?.(upstreamChunks(events));
      const step = merge(translator, events);
      if (step) {
        yield step;
        if (step.error) return;
        finished = step.done;
      }
    }
    ended = true;
  } finally {
    if (!ended) body.destroy();
  }
  if (finished) return;
  const events = decoder.end();
  received?.(upstreamChunks(events));
  const tail = merge(translator, events);
  if (tail) {
    yield tail;
    if (tail.done || tail.error) return;
  }
  yield translator.onEnd();
}

/**
 * The upstream's own chunks among decoded events, as its SDK would yield them (what
 * gen_ai.client.operation.time_per_output_chunk counts, whatever the translation makes of
 * them): every event but OpenAI's `[DONE]` terminator, which is no chunk.
 */
function upstreamChunks(events: readonly SseEvent[]): number {
  const n = events.length;
  return n > 0 && (events[n - 1] as SseEvent).data === '[DONE]' ? n - 1 : n;
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
