import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../clock.js';
import { Engine, TTFT_BUCKETS_S, type Sequence } from './engine.js';
import { simParams, type SimParams } from './params.js';
import { promptBlockHashes } from './tokenize.js';

/** A sequence's tokens as the engine delivered them: the clock at each, and whether it finished. */
interface Trace {
  seq: Sequence;
  tokenMs: number[];
  finishedMs: number | undefined;
}

function sim(patch: Partial<SimParams> = {}): { engine: Engine; clock: ManualClock } {
  const clock = new ManualClock();
  // Round numbers so the expected durations are exact.
  const base: Partial<SimParams> = { prefillMsPerToken: 0.5, decodeBaseMs: 10, decodeMsPerSeq: 1, maxBatch: 8, kvCapacityTokens: 4096, prefixCacheBlocks: 64 };
  return { engine: new Engine(simParams({ ...base, ...patch }), clock), clock };
}

function submit(engine: Engine, clock: ManualClock, promptTokens: number, outputTokens: number, text?: string): Trace {
  const trace: Partial<Trace> & { tokenMs: number[] } = { tokenMs: [], finishedMs: undefined };
  const result = engine.submit({
    promptTokens,
    outputTokens,
    blockHashes: () => (text === undefined ? [] : promptBlockHashes(text)),
    listener: {
      token: () => trace.tokenMs.push(clock.nowMs()),
      finish: () => (trace.finishedMs = clock.nowMs()),
    },
  });
  if (!result.ok) throw new Error(result.message);
  trace.seq = result.seq;
  return trace as Trace;
}

/** One engine step under the manual clock; its duration, or undefined when idle. */
function step(engine: Engine, clock: ManualClock): number | undefined {
  const ms = engine.beginStep();
  if (ms === undefined) return undefined;
  clock.advance(ms);
  engine.endStep();
  return ms;
}

function runIdle(engine: Engine, clock: ManualClock): number[] {
  const steps: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    const ms = step(engine, clock);
    if (ms === undefined) return steps;
    steps.push(ms);
  }
  throw new Error('engine never went idle');
}

/** 4 characters a token: a text of exactly n tokens. */
const textOf = (n: number, fill = 'a'): string => fill.repeat(n * 4);

describe('vllm-sim engine', () => {
  it('decodes one token per running sequence per step, and a step costs more the larger the batch', () => {
    const alone = sim();
    const one = submit(alone.engine, alone.clock, 10, 5);
    const aloneSteps = runIdle(alone.engine, alone.clock);
    // Prefill step: 10 + 1×1 + 0.5×10; then 4 decode steps of 10 + 1×1.
    expect(aloneSteps).toEqual([16, 11, 11, 11, 11]);
    expect(one.tokenMs).toEqual([16, 27, 38, 49, 60]);

    const crowd = sim();
    const traces = Array.from({ length: 8 }, () => submit(crowd.engine, crowd.clock, 10, 5));
    const crowdSteps = runIdle(crowd.engine, crowd.clock);
    expect(crowdSteps).toEqual([10 + 8 + 0.5 * 80, 18, 18, 18, 18]);
    const gaps = (t: Trace): number => (t.tokenMs.at(-1)! - t.tokenMs[0]!) / (t.tokenMs.length - 1);
    expect(gaps(traces[0]!)).toBe(18);
    expect(gaps(one)).toBe(11);
    expect(traces.every((t) => t.tokenMs.length === 5 && t.finishedMs === 58 + 72)).toBe(true);
  });

  it('joins new sequences into a running batch (continuous batching) and caps the batch at maxBatch', () => {
    const { engine, clock } = sim({ maxBatch: 2 });
    const a = submit(engine, clock, 10, 3);
    step(engine, clock);
    const b = submit(engine, clock, 10, 3);
    const c = submit(engine, clock, 10, 3);
    step(engine, clock);
    // b joined a's batch at once; c waits for room in the batch, not for the KV cache.
    expect(a.tokenMs.length).toBe(2);
    expect(b.tokenMs.length).toBe(1);
    expect(c.tokenMs.length).toBe(0);
    expect(engine.snapshot()).toMatchObject({ running: 2, waiting: 1 });
    runIdle(engine, clock);
    expect(c.tokenMs[0]!).toBeGreaterThan(a.finishedMs!);
  });

  it('charges prefill per uncached prompt token: a repeated prefix is served from the cache and its first token comes sooner', () => {
    const { engine, clock } = sim();
    const system = textOf(200, 's');
    const first = submit(engine, clock, 210, 2, system + textOf(10, 'x'));
    const firstSteps = runIdle(engine, clock);
    expect(first.seq.cachedTokens).toBe(0);
    expect(firstSteps[0]).toBe(10 + 1 + 0.5 * 210);

    const again = submit(engine, clock, 210, 2, system + textOf(10, 'y'));
    const start = clock.nowMs();
    const againSteps = runIdle(engine, clock);
    // 200 shared tokens = 12 full blocks of 16 (192 tokens); the rest is prefilled.
    expect(again.seq.cachedTokens).toBe(192);
    expect(againSteps[0]).toBe(10 + 1 + 0.5 * (210 - 192));
    expect(again.tokenMs[0]! - start).toBeLessThan(first.tokenMs[0]!);

    const other = submit(engine, clock, 210, 2, textOf(210, 'z'));
    runIdle(engine, clock);
    expect(other.seq.cachedTokens).toBe(0);
    expect(engine.snapshot().counters).toMatchObject({ prefixQueryTokens: 630, prefixHitTokens: 192, promptTokens: 630, generationTokens: 6 });
  });

  it('a prompt served wholly by the cache still computes its last block (like vLLM)', () => {
    const { engine, clock } = sim();
    const text = textOf(64);
    submit(engine, clock, 64, 1, text);
    runIdle(engine, clock);
    const again = submit(engine, clock, 64, 1, text);
    runIdle(engine, clock);
    expect(again.seq.cachedTokens).toBe(48);
  });

  it('queues requests while the KV cache is full and admits them, first come first served, as others finish', () => {
    // 256 tokens = 16 blocks; each request reserves 100 + 28 = 128 tokens = 8 blocks.
    const { engine, clock } = sim({ kvCapacityTokens: 256 });
    const a = submit(engine, clock, 100, 28);
    const b = submit(engine, clock, 100, 28);
    const c = submit(engine, clock, 100, 28);
    const d = submit(engine, clock, 10, 6);
    step(engine, clock);
    // d would fit (1 block) but waits behind c: admission is FCFS.
    expect(engine.snapshot()).toMatchObject({ running: 2, waiting: 2, kvCacheUsage: 1 });
    runIdle(engine, clock);
    expect(c.tokenMs[0]!).toBeGreaterThan(Math.min(a.finishedMs!, b.finishedMs!));
    expect(d.tokenMs[0]!).toBeGreaterThanOrEqual(c.tokenMs[0]!);
    expect(engine.snapshot()).toMatchObject({ running: 0, waiting: 0, kvCacheUsage: 0 });
    expect(engine.snapshot().counters).toMatchObject({ completed: 4, aborted: 0 });
  });

  it('an abort frees its KV blocks at once: a waiting request is admitted at the next step', () => {
    const { engine, clock } = sim({ kvCapacityTokens: 256 });
    const a = submit(engine, clock, 100, 28);
    submit(engine, clock, 100, 28);
    const c = submit(engine, clock, 100, 28);
    const d = submit(engine, clock, 100, 28);
    step(engine, clock);
    expect(engine.snapshot()).toMatchObject({ running: 2, waiting: 2, kvCacheUsage: 1 });
    engine.abort(a.seq);
    engine.abort(d.seq);
    expect(engine.snapshot()).toMatchObject({ running: 1, waiting: 1, kvCacheUsage: 0.5 });
    step(engine, clock);
    expect(c.tokenMs.length).toBe(1);
    expect(a.tokenMs.length).toBe(1);
    expect(engine.snapshot().counters.aborted).toBe(2);
    // An abort during a step: the sequence gets no token from it.
    engine.beginStep();
    engine.abort(c.seq);
    clock.advance(1);
    engine.endStep();
    expect(c.tokenMs.length).toBe(1);
    expect(c.seq.state).toBe('aborted');
  });

  it('rejects a request longer than the KV cache and one past the waiting-queue bound', () => {
    const { engine, clock } = sim({ kvCapacityTokens: 256, maxWaiting: 1 });
    const noop = { token: () => undefined, finish: () => undefined };
    expect(engine.submit({ promptTokens: 250, outputTokens: 7, blockHashes: () => [], listener: noop })).toMatchObject({ ok: false, reason: 'too_long' });
    submit(engine, clock, 10, 6);
    expect(engine.submit({ promptTokens: 10, outputTokens: 6, blockHashes: () => [], listener: noop })).toMatchObject({ ok: false, reason: 'queue_full' });
    expect(engine.snapshot().counters).toMatchObject({ requests: 3, rejected: 2 });
  });

  it('heterogeneous parameters: speed divides every step, a costlier batch slows decoding', () => {
    const workload = (patch: Partial<SimParams>): number => {
      const { engine, clock } = sim(patch);
      for (let i = 0; i < 5; i++) submit(engine, clock, 100, 20);
      runIdle(engine, clock);
      return clock.nowMs();
    };
    const normal = workload({});
    expect(workload({ speed: 2 })).toBe(normal / 2);
    expect(workload({ speed: 0.5 })).toBe(normal * 2);
    expect(workload({ decodeMsPerSeq: 3 })).toBeGreaterThan(normal);
    expect(workload({ prefillMsPerToken: 0 })).toBe(normal - 0.5 * 500);
  });

  it('records time to first token from arrival in the histogram', () => {
    const { engine, clock } = sim();
    submit(engine, clock, 10, 1);
    clock.advance(5);
    step(engine, clock);
    const ttft = engine.snapshot().ttftSeconds;
    expect(ttft.count).toBe(1);
    expect(ttft.sum).toBeCloseTo(0.021, 9);
    expect(ttft.counts[TTFT_BUCKETS_S.indexOf(0.04)]).toBe(1);
  });
});
