/** One Server-Sent Event as decoded from the wire (WHATWG HTML §9.2 event stream format). */
export interface SseEvent {
  /** The `event:` field, or undefined when the event had none (the spec's "message"). */
  event: string | undefined;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The `id:` field if the event carried one. */
  id: string | undefined;
}
