/**
 * Reads the load of a vLLM or Triton server from its Prometheus /metrics text (the scraper is
 * routing/upstream-metrics.ts). Pure: text and the previous scrape's counter totals in, the load
 * and this scrape's totals out.
 *
 * Several label sets of one metric (several engines of a data-parallel vLLM, several models on
 * one Triton) are combined: counts and counters are summed; vLLM's KV-cache use and its v0
 * hit-rate gauge, being shares of each engine's own cache, are averaged.
 */
import { prometheusText } from '../lazy-packages.js';
import type { ScrapedLoad } from './deployment-load.js';

export type ServerMetricsFormat = 'vllm' | 'triton';

/** Counter totals (summed over label sets) of one good scrape, kept for the next one's rates. */
export type CounterTotals = Readonly<Record<string, number>>;

export interface ServerReading {
  readonly load: Omit<ScrapedLoad, 'atMs'>;
  readonly counters: CounterTotals;
}

/** vLLM v1 names, with the v0 names read only when the v1 ones are absent. */
const VLLM = {
  running: 'vllm:num_requests_running',
  waiting: 'vllm:num_requests_waiting',
  kvCache: 'vllm:kv_cache_usage_perc',
  kvCacheV0: 'vllm:gpu_cache_usage_perc',
  prefixHits: 'vllm:prefix_cache_hits_total',
  prefixQueries: 'vllm:prefix_cache_queries_total',
  prefixHitRateV0: 'vllm:gpu_prefix_cache_hit_rate',
} as const;

const TRITON = {
  pending: 'nv_inference_pending_request_count',
  queueUs: 'nv_inference_queue_duration_us',
  success: 'nv_inference_request_success',
  failure: 'nv_inference_request_failure',
} as const;

const wanted: Readonly<Record<ServerMetricsFormat, ReadonlySet<string>>> = {
  vllm: new Set(Object.values(VLLM)),
  triton: new Set(Object.values(TRITON)),
};

/** Sum and number of the samples of one metric name; `bad` when a value was not a finite number ≥ 0. */
interface Total {
  sum: number;
  n: number;
  bad: boolean;
}

/**
 * The load `text` shows, or undefined when it is not this format's metrics (no metric we read
 * has a usable value, or a line we read is malformed).
 */
export function readServerMetrics(format: ServerMetricsFormat, text: string, previous: CounterTotals | undefined): ServerReading | undefined {
  let totals: Map<string, Total>;
  try {
    totals = sampleTotals(keepSamples(text, wanted[format]));
  } catch {
    return undefined;
  }
  if (![...totals.values()].some((t) => !t.bad)) return undefined;
  return format === 'vllm' ? readVllm(totals, previous) : readTriton(totals, previous);
}

function readVllm(totals: ReadonlyMap<string, Total>, previous: CounterTotals | undefined): ServerReading {
  const counters = countersOf(totals, [VLLM.prefixHits, VLLM.prefixQueries]);
  const hitRate = totals.has(VLLM.prefixQueries) ? ratio(delta(counters, previous, VLLM.prefixHits), delta(counters, previous, VLLM.prefixQueries)) : mean(totals, VLLM.prefixHitRateV0);
  const kvCache = totals.has(VLLM.kvCache) ? mean(totals, VLLM.kvCache) : mean(totals, VLLM.kvCacheV0);
  return {
    load: {
      running: sum(totals, VLLM.running),
      waiting: sum(totals, VLLM.waiting),
      kvCacheUsage: atMostOne(kvCache),
      prefixCacheHitRate: atMostOne(hitRate),
    },
    counters,
  };
}

/**
 * Triton exports no gauge of requests executing (`nv_inference_exec_count` counts batches run,
 * not requests in them), so `running` stays undefined: routing reads in-flight counts instead.
 */
function readTriton(totals: ReadonlyMap<string, Total>, previous: CounterTotals | undefined): ServerReading {
  const counters = countersOf(totals, [TRITON.queueUs, TRITON.success, TRITON.failure]);
  const queuedUs = delta(counters, previous, TRITON.queueUs);
  const success = delta(counters, previous, TRITON.success);
  // A server that never exported failures has none; one that stopped exporting them gives no rate.
  const failure = counters[TRITON.failure] === undefined && previous?.[TRITON.failure] === undefined ? 0 : delta(counters, previous, TRITON.failure);
  const perRequestUs = ratio(queuedUs, success === undefined || failure === undefined ? undefined : success + failure);
  return {
    load: { waiting: sum(totals, TRITON.pending), queueTimeMs: perRequestUs === undefined ? undefined : perRequestUs / 1000 },
    counters,
  };
}

/**
 * Most characters of sample lines kept for the parser. The parse is synchronous, so a 1 MiB page
 * made only of the lines read (a broken or hostile server: one huge line, or endless label sets)
 * would block the event loop 50–110 ms every scrape (measured); this bound keeps it under ≈20 ms
 * and still holds ≈1,500 lines: hundreds of Triton models or vLLM engines.
 */
export const MAX_KEPT_CHARS = 128 * 1024;

/**
 * Only the sample lines of `names`, so the parser (≈180 ms per MB) reads a few lines instead of
 * the whole page: one linear pass, no per-line allocation for the lines dropped. TYPE and HELP
 * lines are dropped too: without them every sample name is its own untyped family, which also
 * sidesteps the library filing `foo_total` samples apart from `# TYPE foo counter`. Ends with a
 * newline: the library drops the last family of a text that does not. Throws RangeError beyond
 * MAX_KEPT_CHARS (the scrape is then `invalid`).
 */
export function keepSamples(text: string, names: ReadonlySet<string>): string {
  let kept = '';
  let keptChars = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    // A sample's name ends at `{` or a blank; a comment's "name" is `#`, never one asked for.
    let nameEnd = start;
    while (nameEnd < end) {
      const c = text.charCodeAt(nameEnd);
      if (c === 123 /* { */ || c === 32 /* space */ || c === 9 /* tab */) break;
      nameEnd++;
    }
    if (names.has(text.slice(start, nameEnd))) {
      keptChars += end - start + 1;
      if (keptChars > MAX_KEPT_CHARS) throw new RangeError(`more than ${MAX_KEPT_CHARS} characters of the metrics read`);
      kept += text.slice(start, end) + '\n';
    }
    start = end + 1;
  }
  return kept;
}

/** Per metric name, the sum and count of its samples' values (a name may come as several families). */
function sampleTotals(text: string): Map<string, Total> {
  const totals = new Map<string, Total>();
  for (const family of prometheusText()(text)) {
    let t = totals.get(family.name);
    if (t === undefined) totals.set(family.name, (t = { sum: 0, n: 0, bad: false }));
    for (const sample of family.metrics) {
      const v = Number(sample.value);
      if (sample.value === undefined || sample.value === '' || !Number.isFinite(v) || v < 0) t.bad = true;
      else {
        t.sum += v;
        t.n++;
      }
    }
  }
  return totals;
}

function sum(totals: ReadonlyMap<string, Total>, name: string): number | undefined {
  const t = totals.get(name);
  return t === undefined || t.bad || t.n === 0 ? undefined : t.sum;
}

function mean(totals: ReadonlyMap<string, Total>, name: string): number | undefined {
  const s = sum(totals, name);
  return s === undefined ? undefined : s / totals.get(name)!.n;
}

function countersOf(totals: ReadonlyMap<string, Total>, names: readonly string[]): CounterTotals {
  const out: Record<string, number> = {};
  for (const name of names) {
    const s = sum(totals, name);
    if (s !== undefined) out[name] = s;
  }
  return out;
}

/** The counter's growth since the previous scrape; undefined on the first scrape or after a reset (it went down). */
function delta(now: CounterTotals, previous: CounterTotals | undefined, name: string): number | undefined {
  const a = previous?.[name];
  const b = now[name];
  return a === undefined || b === undefined || b < a ? undefined : b - a;
}

/** part / whole; undefined when either is unknown or nothing happened (whole 0). */
function ratio(part: number | undefined, whole: number | undefined): number | undefined {
  return part === undefined || whole === undefined || whole === 0 ? undefined : part / whole;
}

/** A share in 0..1, else undefined (a server reporting more than all of its cache is not believed). */
function atMostOne(v: number | undefined): number | undefined {
  return v !== undefined && v <= 1 ? v : undefined;
}
