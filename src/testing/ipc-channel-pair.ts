import type { MessageChannel } from '../cluster/rpc.js';

export interface ChannelDelays {
  /** Milliseconds before a message sent by the first end is delivered (default: next turn). */
  readonly fromFirstMs?: number;
  /** Milliseconds before a message sent by the second end is delivered (a slow primary). */
  readonly fromSecondMs?: number;
}

/**
 * Two ends of an in-process channel that behaves like cluster IPC: asynchronous, in-order
 * delivery and JSON serialisation (Infinity and NaN arrive as null, undefined fields vanish).
 * For tests of the cluster RPC users (worker end first, primary end second).
 */
export function channelPair(delays: ChannelDelays = {}): [MessageChannel, MessageChannel] {
  const handlers: [Set<(m: unknown) => void>, Set<(m: unknown) => void>] = [new Set(), new Set()];
  const end = (mine: 0 | 1): MessageChannel => ({
    send: (message) => {
      const copy: unknown = JSON.parse(JSON.stringify(message));
      const deliver = (): void => {
        for (const h of handlers[mine === 0 ? 1 : 0]) h(copy);
      };
      const delayMs = (mine === 0 ? delays.fromFirstMs : delays.fromSecondMs) ?? 0;
      if (delayMs > 0) setTimeout(deliver, delayMs);
      else setImmediate(deliver);
    },
    onMessage: (handler) => {
      handlers[mine].add(handler);
      return () => handlers[mine].delete(handler);
    },
  });
  return [end(0), end(1)];
}
