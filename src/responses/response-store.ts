import type { ResponseItem, ResponseObject } from '../api/responses-types.js';

/**
 * Where stored responses of `/v1/responses` live: the control plane's database when it is on
 * (sql-store.ts), else a bounded map in this process (memory-store.ts). Both pass the same suite
 * (response-store.test.ts). Every call is scoped to a team: another team's id is as absent as one
 * that never was, and an expired response is absent at once (the sweep only gives its room back).
 */
export interface ResponseStore {
  readonly kind: 'sql' | 'memory';
  /** Keeps a finished response. Throws when it cannot (database down, too large for the memory store). */
  save(turn: NewTurn): Promise<void>;
  /**
   * The conversation `id` continues, oldest first (each turn's input then its output), or why it
   * cannot be expanded. Never reads more than `limits` allow: a conversation past them is refused
   * from its last turn's counters, before any history is read.
   */
  conversation(team: string, id: string, limits: ConversationLimits): Promise<ConversationLoad>;
  /** The response object as the client received it, or undefined. */
  get(team: string, id: string): Promise<ResponseObject | undefined>;
  /** Deletes one response (not the turns before or after it); false when there was none. */
  delete(team: string, id: string): Promise<boolean>;
  /** This response's own input items (undefined: no such response); paging is done by pageInputItems. */
  inputItems(team: string, id: string): Promise<readonly ResponseItem[] | undefined>;
  /** Deletes expired responses, a bounded number per call; returns how many. */
  purgeExpired(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The control plane's database is not open yet (it is starting): answered like one that is down.
 * Here, not in sql-store.ts, so the routes can tell it apart without loading the SQL store and
 * drizzle (a gateway without a control plane never does).
 */
export class StoreNotOpenError extends Error {}

/** One turn to keep. `chain` is the conversation it continued (from `conversation`), if any. */
export interface NewTurn {
  readonly id: string;
  readonly team: string;
  readonly createdBy: string;
  readonly model: string;
  readonly previousResponseId: string | undefined;
  readonly inputItems: readonly ResponseItem[];
  readonly response: ResponseObject;
  readonly chain: ChainSize | undefined;
}

/** The size of a conversation up to and including one turn. */
export interface ChainSize {
  readonly turns: number;
  readonly items: number;
  readonly bytes: number;
}

/** The most history one continuation may expand to: what one request may carry (parse-common.ts, server.bodyLimitBytes). */
export interface ConversationLimits {
  /** Turns: bounds the walk over `previous_response_id` even when turns add no items (an empty input, an empty output). */
  readonly maxTurns: number;
  readonly maxItems: number;
  readonly maxBytes: number;
}

export type ConversationLoad =
  | { readonly kind: 'found'; readonly items: readonly ResponseItem[]; readonly size: ChainSize }
  /** `id` (or, with `earlier`, a turn before it) is absent, expired or another team's. */
  | { readonly kind: 'missing'; readonly earlier: boolean }
  | { readonly kind: 'too_large'; readonly size: ChainSize };

/** The JSON size of items, in bytes (what the expanded request will carry). */
export function itemsBytes(items: readonly unknown[]): number {
  return Buffer.byteLength(JSON.stringify(items));
}

/** The size of the conversation after `turn`: what it continued plus its own input and output. */
export function chainAfter(turn: Pick<NewTurn, 'chain' | 'inputItems' | 'response'>): ChainSize {
  const own = [...turn.inputItems, ...turn.response.output];
  return {
    turns: (turn.chain?.turns ?? 0) + 1,
    items: (turn.chain?.items ?? 0) + own.length,
    bytes: (turn.chain?.bytes ?? 0) + itemsBytes(own),
  };
}

/** Whether a conversation of `size` may be expanded into one request. */
export function fits(size: ChainSize, limits: ConversationLimits): boolean {
  return size.turns <= limits.maxTurns && size.items <= limits.maxItems && size.bytes <= limits.maxBytes;
}

export const DAY_MS = 86_400_000;
