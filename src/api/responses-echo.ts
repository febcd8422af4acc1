import type { UsageRecord } from './chat-types.js';
import type { ResponseObject, ResponsesApiRequest, ResponseStreamEvent } from './responses-types.js';
import type { StreamStep, StreamTranslator } from '../providers/types.js';
import type { SseEvent } from '../upstream/sse-event.js';

/**
 * A native Responses upstream is sent `store: false` and no `previous_response_id` (the gateway
 * keeps conversation state), so its answer echoes those: the client gets what it asked for.
 */
function gatewayState(r: ResponsesApiRequest): { store: unknown; previous_response_id: unknown } {
  return { store: r.echo.store, previous_response_id: r.echo.previous_response_id };
}

/** A native response object with the client's `store` and `previous_response_id`. */
export function withClientState(value: ResponseObject, r: ResponsesApiRequest): ResponseObject {
  return { ...value, ...gatewayState(r) };
}

/** A native stream whose events' `response` objects carry the client's `store` and `previous_response_id`. */
export class ClientStateStream implements StreamTranslator<ResponseStreamEvent> {
  readonly #inner: StreamTranslator<ResponseStreamEvent>;
  readonly #state: { store: unknown; previous_response_id: unknown };

  constructor(inner: StreamTranslator<ResponseStreamEvent>, r: ResponsesApiRequest) {
    this.#inner = inner;
    this.#state = gatewayState(r);
  }

  onEvent(event: SseEvent): StreamStep<ResponseStreamEvent> {
    return this.#patch(this.#inner.onEvent(event));
  }

  onEnd(): StreamStep<ResponseStreamEvent> {
    return this.#patch(this.#inner.onEnd());
  }

  usage(): UsageRecord {
    return this.#inner.usage();
  }

  upstreamModel(): string | undefined {
    return this.#inner.upstreamModel?.();
  }

  #patch(step: StreamStep<ResponseStreamEvent>): StreamStep<ResponseStreamEvent> {
    for (const e of step.chunks) {
      // The native translator made each `response` its own copy (with our id): safe to write.
      if (typeof e.response === 'object' && e.response !== null) Object.assign(e.response, this.#state);
    }
    return step;
  }
}
