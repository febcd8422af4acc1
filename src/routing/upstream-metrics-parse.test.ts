import { describe, expect, it } from 'vitest';
import { tritonPage, vllmPage } from '../testing/server-metrics-pages.js';
import { MAX_KEPT_CHARS, keepSamples, readServerMetrics } from './upstream-metrics-parse.js';

describe('reading vLLM metrics', () => {
  it('sums running and waiting over engines, averages KV-cache use, and has no hit rate on the first scrape', () => {
    const r = readServerMetrics('vllm', vllmPage(), undefined);
    expect(r?.load).toEqual({ running: 5, waiting: 5, kvCacheUsage: 0.5, prefixCacheHitRate: undefined });
    expect(r?.counters).toEqual({ 'vllm:prefix_cache_hits_total': 400, 'vllm:prefix_cache_queries_total': 1000 });
  });

  it('takes the prefix-cache hit rate from the counters grown since the previous scrape', () => {
    const first = readServerMetrics('vllm', vllmPage({ hits: 400, queries: 1000 }), undefined)!;
    const second = readServerMetrics('vllm', vllmPage({ hits: 700, queries: 1400 }), first.counters)!;
    expect(second.load.prefixCacheHitRate).toBeCloseTo(300 / 400);
    // No queries in between: no rate (not 0, not NaN).
    expect(readServerMetrics('vllm', vllmPage({ hits: 700, queries: 1400 }), second.counters)!.load.prefixCacheHitRate).toBeUndefined();
  });

  it('gives no rate the round a counter went down (the server restarted), then rates from the new base', () => {
    const before = readServerMetrics('vllm', vllmPage({ hits: 4000, queries: 9000 }), undefined)!;
    const reset = readServerMetrics('vllm', vllmPage({ hits: 10, queries: 100 }), before.counters)!;
    expect(reset.load.prefixCacheHitRate).toBeUndefined();
    const after = readServerMetrics('vllm', vllmPage({ hits: 60, queries: 200 }), reset.counters)!;
    expect(after.load.prefixCacheHitRate).toBeCloseTo(0.5);
  });

  it('reads the v0 names when the v1 ones are absent', () => {
    const v0 = `# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="m"} 7.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} 0.0
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="m"} 0.9
# TYPE vllm:gpu_prefix_cache_hit_rate gauge
vllm:gpu_prefix_cache_hit_rate{model_name="m"} 0.35
`;
    expect(readServerMetrics('vllm', v0, undefined)?.load).toEqual({ running: 7, waiting: 0, kvCacheUsage: 0.9, prefixCacheHitRate: 0.35 });
  });

  it('leaves out a value that is not finite or out of range, keeping the rest', () => {
    const r = readServerMetrics('vllm', vllmPage({ kv: [1.5, 1.5], running: [NaN, 1] }).replace('} NaN.0', '} NaN'), undefined);
    expect(r?.load.kvCacheUsage).toBeUndefined();
    expect(r?.load.running).toBeUndefined();
    expect(r?.load.waiting).toBe(5);
    const negative = readServerMetrics('vllm', 'vllm:num_requests_waiting -1\nvllm:num_requests_running 2\n', undefined);
    expect(negative?.load).toMatchObject({ waiting: undefined, running: 2 });
  });

  it('reads counters whose TYPE line names the family without _total (the library would file them apart)', () => {
    const text = '# TYPE vllm:prefix_cache_queries counter\nvllm:prefix_cache_queries_total 50\n# TYPE vllm:prefix_cache_hits counter\nvllm:prefix_cache_hits_total 5\n';
    expect(readServerMetrics('vllm', text, undefined)?.counters).toEqual({ 'vllm:prefix_cache_queries_total': 50, 'vllm:prefix_cache_hits_total': 5 });
  });
});

describe('reading Triton metrics', () => {
  it('sums pending requests over models, and has no running count (Triton exports none)', () => {
    const r = readServerMetrics('triton', tritonPage(), undefined);
    expect(r?.load).toEqual({ waiting: 7, queueTimeMs: undefined });
  });

  it('takes the queue time per request from queue duration over successes and failures since the previous scrape', () => {
    const first = readServerMetrics('triton', tritonPage({ queueUs: 500_000, success: 100, failure: 0 }), undefined)!;
    // 40 more requests (30 ok, 10 failed) queued 2 s in all: 50 ms each.
    const second = readServerMetrics('triton', tritonPage({ queueUs: 2_500_000, success: 130, failure: 10 }), first.counters)!;
    expect(second.load.queueTimeMs).toBeCloseTo(50);
    const reset = readServerMetrics('triton', tritonPage({ queueUs: 1_000, success: 1, failure: 0 }), second.counters)!;
    expect(reset.load.queueTimeMs).toBeUndefined();
  });
});

describe('what is not metrics', () => {
  it('is invalid when nothing this format reads is there (HTML, the other format, an empty page)', () => {
    expect(readServerMetrics('vllm', '<html><body>Not Found</body></html>', undefined)).toBeUndefined();
    expect(readServerMetrics('vllm', tritonPage(), undefined)).toBeUndefined();
    expect(readServerMetrics('triton', '', undefined)).toBeUndefined();
  });

  it('is invalid when a line it reads is malformed', () => {
    expect(readServerMetrics('vllm', 'vllm:num_requests_running{engine="0" 3\n', undefined)).toBeUndefined();
  });

  it('never parses lines of other metrics, however broken', () => {
    const r = readServerMetrics('vllm', `other_metric{a="unterminated 1\n${vllmPage()}`, undefined);
    expect(r?.load.running).toBe(5);
  });
});

describe('keepSamples', () => {
  it('keeps only the sample lines of the names asked for, newline-terminated, in one pass over a large page', () => {
    const filler = Array.from({ length: 20_000 }, (_, i) => `python_gc_objects_collected_total{generation="${i}"} ${i}`).join('\n');
    const text = `${filler}\n# TYPE a gauge\na{x="1"} 1\nab 2\na 3\r\nb\t4`;
    expect(keepSamples(text, new Set(['a', 'b']))).toBe('a{x="1"} 1\na 3\r\nb\t4\n');
  });
});

describe('a page made of the lines read (broken or hostile server)', () => {
  // The parse is synchronous: a 1 MiB page of nothing but wanted lines would block the event
  // loop ≈180 ms every scrape (every 100 ms at the shortest interval). Past MAX_KEPT_CHARS of
  // them the scrape is invalid before the parser runs.
  it('is invalid when the lines read exceed the bound: a million label sets, or one enormous line', () => {
    const labelSets = Array.from({ length: 20_000 }, (_, i) => `vllm:num_requests_waiting{engine="${i}",model_name="m"} 1`).join('\n');
    expect(labelSets.length).toBeGreaterThan(MAX_KEPT_CHARS);
    expect(readServerMetrics('vllm', labelSets, undefined)).toBeUndefined();
    const oneLine = `vllm:num_requests_waiting{model_name="${'x'.repeat(MAX_KEPT_CHARS)}"} 1\n`;
    expect(readServerMetrics('vllm', oneLine, undefined)).toBeUndefined();
  });

  it('still reads a large fleet of label sets within the bound (64 data-parallel engines)', () => {
    const engines = Array.from({ length: 64 }, (_, i) => `vllm:num_requests_waiting{engine="${i}",model_name="meta-llama/Llama-3.1-70B-Instruct"} 1`).join('\n');
    expect(readServerMetrics('vllm', `${engines}\n`, undefined)?.load.waiting).toBe(64);
  });
});
