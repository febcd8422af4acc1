/** The parts of parse-prometheus-text-format@1.1.1 (no types of its own) that upstream-metrics-parse.ts reads. */
declare module 'parse-prometheus-text-format' {
  /** One sample; histogram and summary families carry buckets/quantiles instead of `value`. */
  export interface PrometheusSample {
    readonly value?: string;
    readonly labels?: Readonly<Record<string, string>>;
  }
  export interface PrometheusFamily {
    readonly name: string;
    readonly help: string;
    /** Upper case: COUNTER, GAUGE, HISTOGRAM, SUMMARY, UNTYPED. */
    readonly type: string;
    readonly metrics: readonly PrometheusSample[];
  }
  /** Parses the text format; throws on a line it cannot read. */
  function parsePrometheusTextFormat(text: string): PrometheusFamily[];
  export default parsePrometheusTextFormat;
}
