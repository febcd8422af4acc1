import type { Registry } from 'prom-client';
import { formatUsd } from '../spend/money.js';

/**
 * Counters and histograms for the request path. prom-client hashes, sorts and validates the
 * label object on every inc/observe (its `labels()` children too), a measurable share of each
 * request's CPU (bench/analysis.md). Here each label set is resolved once to
 * a child holding plain numbers, found again by its joined values; prom-client's Registry still
 * renders the exposition, so /metrics is unchanged. Label values come from configuration or
 * closed vocabularies, so the children are as bounded as the series.
 */

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** What prom-client's Registry reads from a registered metric. */
interface RegistryMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }>;
  reset(): void;
}

const sep = '\u0001';

/** One string per label name, in order: a call with a label missing or extra does not compile. */
type LabelValues<Names extends readonly string[]> = { readonly [I in keyof Names]: string };

abstract class Labelled<Child, const Names extends readonly string[]> implements RegistryMetric {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum' as const;
  protected readonly children = new Map<string, { labels: Record<string, string>; child: Child }>();

  constructor(
    readonly name: string,
    readonly help: string,
    protected readonly labelNames: Names,
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /**
   * The children again, one level of maps per label, found by the values themselves: joining the
   * values into a key per call (and hashing that new string) was most of this function's cost,
   * several times per request (bench/micro/labelled-lookup.mjs). The leaves are `children`'s
   * entries, so a child is the same whichever way it is found.
   */
  #index = new Map<string, unknown>();

  /**
   * The child for these label values, given in `labelNames` order. Positional, not an object
   * keyed by name: this runs several times per request, and the rest array is the only
   * allocation (an object would add one, and keyed reads in label order).
   */
  labels(...values: LabelValues<Names>): Child {
    let level = this.#index;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      const value = values[i] as string;
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map<string, unknown>();
        level.set(value, next);
      }
      level = next;
    }
    const leaf = (last < 0 ? '' : values[last]) as string;
    let entry = level.get(leaf) as { labels: Record<string, string>; child: Child } | undefined;
    if (entry === undefined) {
      entry = this.#entry(values);
      level.set(leaf, entry);
    }
    return entry.child;
  }

  /** The series of these values, made on first use; keyed by the joined values, as before the index (values with `sep` in them still meet). */
  #entry(values: LabelValues<Names>): { labels: Record<string, string>; child: Child } {
    const key = values.join(sep);
    let entry = this.children.get(key);
    if (!entry) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i] ?? ''));
      entry = { labels, child: this.create() };
      this.children.set(key, entry);
    }
    return entry;
  }

  reset(): void {
    this.children.clear();
    this.#index.clear();
  }

  async get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }> {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: this.aggregator };
  }

  protected abstract create(): Child;
  protected abstract values(): MetricValue[];
}

export class CounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class LabelledCounter<const Names extends readonly string[]> extends Labelled<CounterChild, Names> {
  readonly type = 'counter' as const;
  protected create(): CounterChild {
    return new CounterChild();
  }
  protected values(): MetricValue[] {
    return [...this.children.values()].map(({ labels, child }) => ({ labels, value: child.value }));
  }
}

/** A money counter child: whole picodollars in a bigint, so a billion small costs sum exactly. */
export class MoneyChild {
  pico = 0n;
  add(pico: number): void {
    this.pico += BigInt(pico);
  }
}

/**
 * A counter of US dollars kept as exact integer picodollars (spend/money.ts) and shown in
 * dollars only when scraped: adding 0.000042 a billion times in floating point drifts, adding
 * 42,000,000 pUSD does not. The exposition value is the exact decimal read once into a double.
 */
export class LabelledMoneyCounter<const Names extends readonly string[]> extends Labelled<MoneyChild, Names> {
  readonly type = 'counter' as const;
  protected create(): MoneyChild {
    return new MoneyChild();
  }
  protected values(): MetricValue[] {
    return [...this.children.values()].map(({ labels, child }) => ({ labels, value: Number(formatUsd(child.pico)) }));
  }
}

export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    // Non-cumulative counts per bucket; a value above every bound counts only in +Inf.
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= (b[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1;
        break;
      }
    }
    this.sum += v;
    this.count++;
  }

  /** Adds another child's observations; `from` must use the same bucket boundaries. */
  merge(from: { readonly counts: ArrayLike<number>; readonly sum: number; readonly count: number }): void {
    const n = Math.min(this.counts.length, from.counts.length);
    for (let i = 0; i < n; i++) this.counts[i] = (this.counts[i] as number) + (from.counts[i] as number);
    this.sum += from.sum;
    this.count += from.count;
  }
}

export class LabelledHistogram<const Names extends readonly string[]> extends Labelled<HistogramChild, Names> {
  readonly type = 'histogram' as const;
  constructor(name: string, help: string, labelNames: Names, readonly buckets: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
  }
  protected create(): HistogramChild {
    return new HistogramChild(this.buckets);
  }
  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    for (const { labels, child } of this.children.values()) {
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += child.counts[i] as number;
        out.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels }, value: acc });
      });
      out.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: child.count });
      out.push({ metricName: `${this.name}_sum`, labels, value: child.sum });
      out.push({ metricName: `${this.name}_count`, labels, value: child.count });
    }
    return out;
  }
}
