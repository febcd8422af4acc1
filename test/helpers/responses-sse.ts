/**
 * Reading a Responses API event stream (`/v1/responses` with `stream: true`) in tests: named
 * events (`event: response.created` then `data: {...}`), no `[DONE]`.
 */

/** One event of a Responses stream: its SSE name and its JSON data. */
export interface ResponsesEvent {
  readonly event: string | undefined;
  readonly data: Record<string, any>;
}

/** The whole SSE text (as received, LF-separated) as (event name, data) pairs, in order. */
export function responsesEvents(text: string): ResponsesEvent[] {
  return text
    .split('\n\n')
    .filter((b) => b.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      return { event, data: JSON.parse(data) as Record<string, any> };
    });
}

/** The event types OpenAI sends, in order, for a reply of one text message streamed in `deltas` pieces. */
export function textStreamTypes(deltas: number): string[] {
  return [
    'response.created',
    'response.in_progress',
    'response.output_item.added',
    'response.content_part.added',
    ...Array<string>(deltas).fill('response.output_text.delta'),
    'response.output_text.done',
    'response.content_part.done',
    'response.output_item.done',
    'response.completed',
  ];
}
