import type { Clock } from '../../../clock.js';
import { BLOCK_TOKENS, type SimParams } from './params.js';
import { PrefixCache } from './prefix-cache.js';

/**
 * The simulated vLLM engine: continuous batching over a KV cache, with a prefix cache. It has no
 * timers: a driver calls `beginStep()` (admits waiting sequences and returns how long the step
 * takes), waits that long, then `endStep()` (every sequence in the step gets one token). Given
 * the same submissions, aborts and step calls, it does exactly the same thing.
 *
 * Each step admits waiting sequences first come, first served while the batch has room and the
 * KV cache can hold their prompt plus their whole output (reserved up front: no preemption), and
 * stops at the first that does not fit. A newly admitted sequence prefills its uncached prompt
 * tokens in that step and gets its first token at its end; running ones decode one token each.
 *   step ms = (decodeBaseMs + decodeMsPerSeq × batch size + prefillMsPerToken × uncached tokens) / speed
 */

export interface SequenceListener {
  /** Generated token `index` (0-based) is ready. */
  token(seq: Sequence, index: number): void;
  /** The last token was delivered; the sequence's KV blocks are already free. */
  finish(seq: Sequence): void;
}

export type SequenceState = 'waiting' | 'running' | 'done' | 'aborted';

export class Sequence {
  state: SequenceState = 'waiting';
  /** Tokens generated so far. */
  generated = 0;
  /** Prompt tokens served by the prefix cache (known once admitted). */
  cachedTokens = 0;
  /** KV blocks reserved while running. */
  kvBlocks = 0;
  /** Prefix-cache blocks pinned while running. */
  pinned: number[] = [];
  firstTokenMs: number | undefined;

  constructor(
    readonly id: number,
    readonly promptTokens: number,
    readonly blockHashes: readonly number[],
    readonly outputTokens: number,
    readonly arrivalMs: number,
    readonly listener: SequenceListener,
  ) {}
}

export interface SubmitInput {
  promptTokens: number;
  /** Chained hashes of the prompt's cacheable blocks (tokenize.ts); computed only if accepted. */
  blockHashes: () => readonly number[];
  outputTokens: number;
  listener: SequenceListener;
}

export type SubmitResult =
  | { ok: true; seq: Sequence }
  /** too_long: prompt + output exceed the KV cache (vLLM's context length error); queue_full: 503. */
  | { ok: false; reason: 'too_long' | 'queue_full'; message: string };

/** Cumulative counters (the Prometheus counters of /metrics). */
export interface EngineCounters {
  /** Submissions, rejected ones included. */
  requests: number;
  rejected: number;
  completed: number;
  aborted: number;
  /** Prompt tokens of admitted sequences. */
  promptTokens: number;
  generationTokens: number;
  /** Prompt tokens looked up in the prefix cache (every admitted prompt's tokens). */
  prefixQueryTokens: number;
  /** Prompt tokens the prefix cache served. */
  prefixHitTokens: number;
}

/** vLLM's bucket bounds (seconds) for vllm:time_to_first_token_seconds. */
export const TTFT_BUCKETS_S: readonly number[] = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560,
];

export interface Histogram {
  /** Per-bucket (not cumulative) counts, one per bound in TTFT_BUCKETS_S, then +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

export interface EngineSnapshot {
  running: number;
  waiting: number;
  /** 0..1: reserved KV blocks over all KV blocks. */
  kvCacheUsage: number;
  prefixCacheBlocks: number;
  counters: Readonly<EngineCounters>;
  ttftSeconds: Readonly<Histogram>;
}

export class Engine {
  readonly params: Readonly<SimParams>;
  readonly kvBlocks: number;
  readonly #clock: Clock;
  readonly #cache: PrefixCache;
  readonly #waiting: Sequence[] = [];
  readonly #running = new Set<Sequence>();
  readonly #counters: EngineCounters = {
    requests: 0, rejected: 0, completed: 0, aborted: 0, promptTokens: 0, generationTokens: 0, prefixQueryTokens: 0, prefixHitTokens: 0,
  };
  readonly #ttft: Histogram = { counts: new Array<number>(TTFT_BUCKETS_S.length + 1).fill(0), sum: 0, count: 0 };
  #usedBlocks = 0;
  #nextId = 1;
  /** The sequences of the step in progress; undefined between steps. */
  #batch: Sequence[] | undefined;

  constructor(params: Readonly<SimParams>, clock: Clock) {
    this.params = params;
    this.#clock = clock;
    this.kvBlocks = Math.floor(params.kvCapacityTokens / BLOCK_TOKENS);
    this.#cache = new PrefixCache(params.prefixCacheBlocks);
  }

  /** Whether a step is in progress (between beginStep and endStep). */
  get stepping(): boolean {
    return this.#batch !== undefined;
  }

  /** Whether a step would do anything. */
  get busy(): boolean {
    return this.#running.size > 0 || this.#waiting.length > 0;
  }

  /** The longest prompt plus output: the whole KV cache. */
  get maxModelLen(): number {
    return this.kvBlocks * BLOCK_TOKENS;
  }

  submit(input: SubmitInput): SubmitResult {
    this.#counters.requests++;
    const maxLen = this.maxModelLen;
    if (input.promptTokens + input.outputTokens > maxLen) {
      this.#counters.rejected++;
      const message = `This model's maximum context length is ${maxLen} tokens. However, you requested ${input.promptTokens + input.outputTokens} tokens (${input.promptTokens} in the messages, ${input.outputTokens} in the completion).`;
      return { ok: false, reason: 'too_long', message };
    }
    if (this.#waiting.length >= this.params.maxWaiting) {
      this.#counters.rejected++;
      return { ok: false, reason: 'queue_full', message: 'The engine is overloaded: the waiting queue is full.' };
    }
    const seq = new Sequence(this.#nextId++, input.promptTokens, input.blockHashes(), input.outputTokens, this.#clock.nowMs(), input.listener);
    this.#waiting.push(seq);
    return { ok: true, seq };
  }

  /** Ends a sequence at once (its client left): it leaves the queue or frees its KV blocks. */
  abort(seq: Sequence): void {
    if (seq.state === 'waiting') {
      const at = this.#waiting.indexOf(seq);
      if (at >= 0) this.#waiting.splice(at, 1);
    } else if (seq.state === 'running') this.#release(seq);
    else return;
    seq.state = 'aborted';
    this.#counters.aborted++;
  }

  /** Admits what fits and starts a step; returns its duration in ms, or undefined when idle. */
  beginStep(): number | undefined {
    if (this.#batch !== undefined) throw new Error('engine step already in progress');
    const p = this.params;
    let uncached = 0;
    while (this.#running.size < p.maxBatch) {
      const seq = this.#waiting[0];
      if (seq === undefined) break;
      const blocks = Math.ceil((seq.promptTokens + seq.outputTokens) / BLOCK_TOKENS);
      if (this.#usedBlocks + blocks > this.kvBlocks) break;
      this.#waiting.shift();
      this.#usedBlocks += blocks;
      seq.kvBlocks = blocks;
      seq.cachedTokens = this.#cache.match(seq.blockHashes) * BLOCK_TOKENS;
      seq.pinned = this.#cache.pin(seq.blockHashes);
      seq.state = 'running';
      this.#running.add(seq);
      this.#counters.promptTokens += seq.promptTokens;
      this.#counters.prefixQueryTokens += seq.promptTokens;
      this.#counters.prefixHitTokens += seq.cachedTokens;
      uncached += seq.promptTokens - seq.cachedTokens;
    }
    if (this.#running.size === 0) return undefined;
    this.#batch = [...this.#running];
    return (p.decodeBaseMs + p.decodeMsPerSeq * this.#batch.length + p.prefillMsPerToken * uncached) / p.speed;
  }

  /** Ends the step: one token for every sequence of it still running; finished ones free their blocks. */
  endStep(): void {
    const batch = this.#batch;
    if (batch === undefined) throw new Error('no engine step in progress');
    this.#batch = undefined;
    const now = this.#clock.nowMs();
    for (const seq of batch) {
      if (seq.state !== 'running') continue;
      const index = seq.generated++;
      this.#counters.generationTokens++;
      if (index === 0) {
        seq.firstTokenMs = now;
        this.#observeTtft((now - seq.arrivalMs) / 1000);
      }
      const done = seq.generated >= seq.outputTokens;
      if (done) {
        this.#release(seq);
        seq.state = 'done';
        this.#counters.completed++;
      }
      seq.listener.token(seq, index);
      if (done) seq.listener.finish(seq);
    }
  }

  snapshot(): EngineSnapshot {
    return {
      running: this.#running.size,
      waiting: this.#waiting.length,
      kvCacheUsage: this.#usedBlocks / this.kvBlocks,
      prefixCacheBlocks: this.#cache.size,
      counters: { ...this.#counters },
      ttftSeconds: { counts: [...this.#ttft.counts], sum: this.#ttft.sum, count: this.#ttft.count },
    };
  }

  #release(seq: Sequence): void {
    this.#running.delete(seq);
    this.#usedBlocks -= seq.kvBlocks;
    seq.kvBlocks = 0;
    this.#cache.unpin(seq.pinned);
    seq.pinned = [];
  }

  #observeTtft(seconds: number): void {
    let bucket = TTFT_BUCKETS_S.findIndex((bound) => seconds <= bound);
    if (bucket < 0) bucket = TTFT_BUCKETS_S.length;
    this.#ttft.counts[bucket] = (this.#ttft.counts[bucket] ?? 0) + 1;
    this.#ttft.sum += seconds;
    this.#ttft.count++;
  }
}
