import { describe, expect, it } from 'vitest';
import { DECAY_TAU_MS, TargetStats, type AttemptSample } from './target-stats.js';

const ok = (endMs: number, extra: Partial<AttemptSample>): AttemptSample => ({ endMs, outcome: 'success', stream: true, durationMs: 0, ...extra });

describe('TargetStats', () => {
  it('measures a stream: TTFT at the commit point, TPOT over the rest', () => {
    const s = new TargetStats();
    s.observe(ok(1000, { ttftMs: 200, durationMs: 1190, outputTokens: 100 }));
    expect(s.ttftMs).toBe(200);
    expect(s.tpotMs).toBe(10);
    expect(s.lastSampleMs).toBe(1000);
  });

  it('does not make a deployment look slow because it wrote a long JSON answer', () => {
    const s = new TargetStats();
    // duration = 100 ms + 5 ms a token after the first; output lengths vary widely.
    const outs = [10, 400, 50, 800, 20, 300, 600, 5, 900, 120];
    outs.forEach((out, i) => s.observe(ok(i * 100, { stream: false, durationMs: 100 + 5 * (out - 1), outputTokens: out })));
    expect(s.ttftMs!).toBeGreaterThan(80);
    expect(s.ttftMs!).toBeLessThan(150);
    expect(s.tpotMs!).toBeCloseTo(5, 0);
  });

  it('averages over time, not per sample: a flood of samples in one instant moves it no faster than a few', () => {
    const flood = new TargetStats();
    const few = new TargetStats();
    flood.observe(ok(0, { ttftMs: 100, durationMs: 100 }));
    few.observe(ok(0, { ttftMs: 100, durationMs: 100 }));
    for (let i = 1; i <= 1000; i++) flood.observe(ok(1, { ttftMs: 1000, durationMs: 1000 }));
    few.observe(ok(1, { ttftMs: 1000, durationMs: 1000 }));
    // Each sample still weighs at least 5 %, so the flood does move it; but after DECAY_TAU_MS
    // of steady samples the average has mostly followed.
    expect(flood.ttftMs!).toBeGreaterThan(few.ttftMs!);
    const steady = new TargetStats();
    steady.observe(ok(0, { ttftMs: 100, durationMs: 100 }));
    for (let t = 100; t <= 3 * DECAY_TAU_MS; t += 100) steady.observe(ok(t, { ttftMs: 1000, durationMs: 1000 }));
    expect(steady.ttftMs!).toBeGreaterThan(950);
  });

  it('keeps a peak that jumps to a slow sample and decays back towards the average', () => {
    const s = new TargetStats();
    for (let t = 0; t < 10; t++) s.observe(ok(t * 10, { ttftMs: 100, durationMs: 100 }));
    s.observe(ok(100, { ttftMs: 2000, durationMs: 2000 }));
    expect(s.peakMs(100)).toBe(2000);
    const later = s.peakMs(100 + DECAY_TAU_MS)!;
    expect(later).toBeLessThan(2000);
    expect(later).toBeGreaterThan(s.ttftMs!);
    expect(s.peakMs(100 + 20 * DECAY_TAU_MS)! - s.ttftMs!).toBeLessThan(1);
  });

  it('gives the p95 of recent TTFTs', () => {
    const s = new TargetStats();
    expect(s.ttftP95()).toBeUndefined();
    for (let i = 1; i <= 100; i++) s.observe(ok(i, { ttftMs: i, durationMs: i }));
    expect(s.ttftP95()).toBe(95);
    // Only the last 128 count.
    for (let i = 0; i < 128; i++) s.observe(ok(200 + i, { ttftMs: 7, durationMs: 7 }));
    expect(s.ttftP95()).toBe(7);
  });

  it('counts a timeout as at least that slow, and upstream failures in its error rate', () => {
    const s = new TargetStats();
    s.observe(ok(0, { ttftMs: 50, durationMs: 50 }));
    s.observe({ endMs: 1, outcome: 'timeout', stream: true, durationMs: 30_000 });
    expect(s.peakMs(1)).toBe(30_000);
    expect(s.errorRate).toBeGreaterThan(0);
    const before = s.errorRate;
    s.observe({ endMs: 2, outcome: 'client_error', stream: true, durationMs: 5 });
    s.observe({ endMs: 3, outcome: 'aborted', stream: true, durationMs: 5 });
    expect(s.errorRate).toBe(before);
  });

  it('ignores failed attempts for latency, and NaN or negative durations', () => {
    const s = new TargetStats();
    s.observe({ endMs: 0, outcome: 'server_error', stream: false, durationMs: 5 });
    s.observe(ok(1, { stream: false, durationMs: Number.NaN, outputTokens: 3 }));
    s.observe(ok(2, { stream: false, durationMs: -1 }));
    expect(s.ttftMs).toBeUndefined();
  });

  it('tells listeners every sample with its derived TTFT and TPOT', () => {
    const s = new TargetStats();
    expect(s.wantsFeatures).toBe(false);
    const seen: Array<number | undefined> = [];
    s.listen((_sample, d) => seen.push(d.tpotMs));
    expect(s.wantsFeatures).toBe(true);
    s.observe(ok(0, { ttftMs: 10, durationMs: 110, outputTokens: 11 }));
    expect(seen).toEqual([10]);
  });
});

describe('TargetStats with JSON answers of one length', () => {
  it('compares whole durations when the fit cannot separate fixed and per-token cost', () => {
    const fast = new TargetStats();
    const slow = new TargetStats();
    for (let i = 0; i < 20; i++) {
      fast.observe(ok(i * 100, { stream: false, durationMs: 100 + 2 * 255, outputTokens: 256 }));
      slow.observe(ok(i * 100, { stream: false, durationMs: 400 + 2 * 255, outputTokens: 256 }));
    }
    expect(fast.ttftMs!).toBeCloseTo(610, 0);
    expect(slow.ttftMs!).toBeCloseTo(910, 0);
  });
});

describe('TargetStats and a hedge’s loser', () => {
  it('learns that a stream stopped before its first content was at least that slow, when that is slower than it thought', () => {
    const s = new TargetStats();
    s.observe(ok(0, { ttftMs: 100, durationMs: 300, outputTokens: 10 }));
    s.observe({ endMs: 10, outcome: 'aborted', stream: true, durationMs: 50, ttftAtLeast: true });
    expect(s.ttftMs).toBe(100);
    s.observe({ endMs: 20, outcome: 'aborted', stream: true, durationMs: 900, ttftAtLeast: true });
    expect(s.ttftMs!).toBeGreaterThan(100);
    expect(s.peakMs(20)).toBe(900);
    // A JSON loser's duration bounds its whole answer, not its TTFT: nothing learned.
    const j = new TargetStats();
    j.observe({ endMs: 0, outcome: 'aborted', stream: false, durationMs: 900, ttftAtLeast: true });
    expect(j.ttftMs).toBeUndefined();
  });
});

describe('TargetStats and an upstream that lies about its output tokens', () => {
  // Attempts report the upstream's own completion_tokens (attempt.ts), before the gateway's
  // usage check: a count no request can have (1e200) must not be learned, or its square
  // overflows the fit's running moments to Infinity, then NaN, and the deployment's JSON
  // answers are judged by their whole duration for ever (until a reload).
  it('ignores an absurd output count: the JSON split still learns from the honest answers after it', () => {
    const s = new TargetStats();
    s.observe(ok(0, { stream: false, durationMs: 300, outputTokens: 1e200 }));
    s.observe(ok(50, { stream: false, durationMs: 300, outputTokens: -7 }));
    const outs = [10, 400, 50, 800, 20, 300, 600, 5, 900, 120];
    outs.forEach((out, i) => s.observe(ok(100 + i * 100, { stream: false, durationMs: 100 + 5 * (out - 1), outputTokens: out })));
    expect(s.tpotMs!).toBeCloseTo(5, 0);
    expect(s.ttftMs!).toBeLessThan(300);
  });

  it('a stream claiming an absurd output count gives no TPOT sample (it would read as decoding for free)', () => {
    const s = new TargetStats();
    s.observe(ok(0, { ttftMs: 100, durationMs: 1100, outputTokens: 101 }));
    s.observe(ok(10, { ttftMs: 100, durationMs: 1100, outputTokens: 1e200 }));
    expect(s.tpotMs).toBe(10);
  });
});

describe('TargetStats and empty answers', () => {
  it('learns nothing of speed from an answer that generated nothing (a deployment answering empty at once must not look fastest)', () => {
    const s = new TargetStats();
    s.observe(ok(0, { ttftMs: 300, durationMs: 900, outputTokens: 50, generates: true }));
    for (let i = 1; i <= 50; i++) {
      s.observe(ok(i * 100, { ttftMs: 1, durationMs: 1, outputTokens: 0, generates: true }));
      s.observe(ok(i * 100, { stream: false, durationMs: 1, outputTokens: 0, generates: true }));
    }
    expect(s.ttftMs).toBe(300);
    // Embeddings generate no tokens by nature: their duration is their latency.
    const e = new TargetStats();
    e.observe(ok(0, { stream: false, durationMs: 40, outputTokens: 0, generates: false }));
    expect(e.ttftMs).toBe(40);
  });
});
