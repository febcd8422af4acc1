import type { ResponseItem, ResponseObject } from '../api/responses-types.js';
import { chainAfter, DAY_MS, fits, type ChainSize, type ConversationLimits, type ConversationLoad, type NewTurn, type ResponseStore } from './response-store.js';

export interface MemoryStoreOptions {
  readonly retentionDays: number;
  /** Responses kept at most; the oldest go first. */
  readonly maxResponses: number;
  /** Bytes (the heap size of the JSON text of inputs and the response object) kept at most; the oldest go first. */
  readonly maxBytes: number;
  /** Wall-clock ms (expiry). */
  readonly wallMs: () => number;
}

/**
 * One stored response, as JSON text: a string is what the byte bound counts (an object graph of
 * the same items holds 3 to 20 times its JSON in the heap, and every major GC walks it), it is
 * made by the one stringify the save does anyway, and reading parses a fresh copy, as the
 * database's jsonb does.
 */
interface Entry {
  readonly team: string;
  readonly previousResponseId: string | undefined;
  readonly inputJson: string;
  readonly responseJson: string;
  readonly chain: ChainSize;
  readonly bytes: number;
  readonly expiresAtMs: number;
}

/** Bookkeeping per entry besides its two strings (the entry, its map slot, its id). */
const ENTRY_OVERHEAD_BYTES = 256;

/** What a string takes in V8's heap: one byte a character when all are Latin-1, else two. */
function heapBytes(text: string): number {
  return /[^\u0000-\u00ff]/.test(text) ? 2 * text.length : text.length;
}

/** Expired entries dropped per purge call (the rest wait for the next). */
const PURGE_BATCH = 10_000;

/**
 * Stored responses in this process, for a gateway without a control plane. Bounded by count and
 * bytes (the oldest are evicted first) and by the same retention as the database's. Per process:
 * with `--workers` > 1 or several replicas, a continuation that lands on another process finds
 * nothing (a 400 previous_response_not_found), as docs/responses.md says.
 */
export class MemoryResponseStore implements ResponseStore {
  readonly kind = 'memory';
  /** In insertion order, which is expiry order (one retention for all): the oldest first. */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  constructor(private readonly options: MemoryStoreOptions) {}

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  async save(turn: NewTurn): Promise<void> {
    const chain = chainAfter(turn);
    // Text, not the caller's objects: later changes to them must not change what was stored.
    const inputJson = JSON.stringify(turn.inputItems);
    const responseJson = JSON.stringify(turn.response);
    const bytes = heapBytes(inputJson) + heapBytes(responseJson) + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.options.maxBytes) throw new Error(`the response (${bytes} bytes) is larger than the memory store (responses.memoryMaxBytes)`);
    const entry: Entry = { team: turn.team, previousResponseId: turn.previousResponseId, inputJson, responseJson, chain, bytes, expiresAtMs: this.options.wallMs() + this.options.retentionDays * DAY_MS };
    this.#remove(turn.id);
    this.#entries.set(turn.id, entry);
    this.#bytes += bytes;
    this.#purge(PURGE_BATCH);
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.options.maxResponses && this.#bytes <= this.options.maxBytes) break;
      this.#remove(oldest);
    }
  }

  async conversation(team: string, id: string, limits: ConversationLimits): Promise<ConversationLoad> {
    const head = this.#find(team, id);
    if (!head) return { kind: 'missing', earlier: false };
    if (!fits(head.chain, limits)) return { kind: 'too_large', size: head.chain };
    const turns: Entry[] = [head];
    let at = head;
    // At most chain.turns steps: each turn's count is one more than the one before it.
    while (at.previousResponseId !== undefined && turns.length < head.chain.turns) {
      const previous = this.#find(team, at.previousResponseId);
      if (!previous) return { kind: 'missing', earlier: true };
      turns.push(previous);
      at = previous;
    }
    if (at.previousResponseId !== undefined) return { kind: 'missing', earlier: true };
    const items: ResponseItem[] = [];
    for (const t of turns.reverse()) items.push(...(JSON.parse(t.inputJson) as ResponseItem[]), ...(JSON.parse(t.responseJson) as ResponseObject).output);
    return { kind: 'found', items, size: head.chain };
  }

  async get(team: string, id: string): Promise<ResponseObject | undefined> {
    const entry = this.#find(team, id);
    return entry ? (JSON.parse(entry.responseJson) as ResponseObject) : undefined;
  }

  async delete(team: string, id: string): Promise<boolean> {
    if (!this.#find(team, id)) return false;
    this.#remove(id);
    return true;
  }

  async inputItems(team: string, id: string): Promise<readonly ResponseItem[] | undefined> {
    const entry = this.#find(team, id);
    return entry ? (JSON.parse(entry.inputJson) as ResponseItem[]) : undefined;
  }

  async purgeExpired(): Promise<number> {
    return this.#purge(PURGE_BATCH);
  }

  async close(): Promise<void> {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #find(team: string, id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (!entry || entry.team !== team || entry.expiresAtMs <= this.options.wallMs()) return undefined;
    return entry;
  }

  #remove(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    this.#bytes -= entry.bytes;
  }

  /** Drops expired entries from the oldest end, at most `max`. */
  #purge(max: number): number {
    const now = this.options.wallMs();
    let n = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAtMs > now || n >= max) break;
      this.#remove(id);
      n++;
    }
    return n;
  }
}
