import { openStream } from './api.js';
import type { Tick } from './types.js';

/**
 * The live event stream (GET /admin/v1/live) read with fetch, since EventSource cannot send an
 * Authorization header. Parses `event:`/`data:` blocks; reconnects after an error or the end of
 * the stream with a growing delay (1 s doubling to 30 s, back to 1 s once ticks flow again).
 */
export interface LiveHandlers {
  history(ticks: Tick[]): void;
  tick(tick: Tick): void;
  state(state: 'connecting' | 'open' | 'retrying', detail?: string): void;
}

/** An event block longer than this is not the gateway's: the stream is dropped and reopened. */
const MAX_EVENT_CHARS = 4 * 1024 * 1024;
const MIN_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;

export function followLive(handlers: LiveHandlers): () => void {
  const controller = new AbortController();
  let delay = MIN_DELAY_MS;
  const loop = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      handlers.state('connecting');
      try {
        const res = await openStream('/live', controller.signal);
        handlers.state('open');
        await read(res, (event, data) => {
          if (event === 'history') handlers.history((JSON.parse(data) as { ticks: Tick[] }).ticks);
          else if (event === 'tick') {
            handlers.tick(JSON.parse(data) as Tick);
            delay = MIN_DELAY_MS;
          }
        });
        handlers.state('retrying', 'the stream ended');
      } catch (err) {
        if (controller.signal.aborted) return;
        handlers.state('retrying', err instanceof Error ? err.message : String(err));
        // A 401 signs out (api.ts); a 403 will not change by retrying soon.
        if ((err as { status?: number }).status === 401) return;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  };
  void loop();
  return () => controller.abort();
}

async function read(res: Response, onEvent: (event: string, data: string) => void): Promise<void> {
  if (!res.body) throw new Error('no stream body');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const val = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = val;
        else if (field === 'data') data.push(val);
      }
      if (data.length > 0) onEvent(event, data.join('\n'));
    }
    if (buffer.length > MAX_EVENT_CHARS) {
      await reader.cancel();
      throw new Error('an event too large');
    }
  }
}
