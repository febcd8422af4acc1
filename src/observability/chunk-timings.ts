import { HistogramChild } from './labelled-metrics.js';

/**
 * Bucket boundaries (seconds) the OpenTelemetry GenAI conventions give
 * `gen_ai.client.operation.duration`, `.time_to_first_chunk` and `.time_per_output_chunk` alike.
 */
export const clientDurationBuckets: readonly number[] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/**
 * When one streaming upstream attempt's output chunks arrived: the first (for
 * `gen_ai.client.operation.time_to_first_chunk`) and the gap before each later one (for
 * `.time_per_output_chunk`, which the conventions define per chunk: "recorded for each chunk
 * received after the first one", end of the previous chunk to end of this one).
 *
 * The gaps are bucketed here, per attempt, into a histogram child with the metric's own
 * boundaries, and merged into the metric once when the attempt ends: per chunk that is one
 * bucket search and no allocation, and the flow never calls a metric (it only emits the
 * attempt's event). Per-chunk, not a per-stream mean: a mean hides the stall in an otherwise
 * fast stream that this instrument is for, and the spec asks for every chunk.
 *
 * The chunks are the upstream's own (translateBody counts the events it decodes, before any
 * translation), so the same upstream stream gives the same observations whichever API the
 * client called. Chunks decoded from the same network read as the one before them were
 * received at the same instant: their gap is 0, as a client SDK reading the same bytes would
 * record.
 */
export class ChunkTimings {
  /** Monotonic ms the first output chunk arrived; undefined until one does. */
  firstMs: number | undefined;
  #lastMs = 0;
  /** Gaps in seconds, bucketed by clientDurationBuckets. */
  readonly gaps = new HistogramChild(clientDurationBuckets);

  /** `count` output chunks arrived together at monotonic `nowMs`. */
  arrived(nowMs: number, count: number): void {
    if (count <= 0) return;
    let rest = count;
    if (this.firstMs === undefined) this.firstMs = nowMs;
    else this.gaps.observe((nowMs - this.#lastMs) / 1000);
    this.#lastMs = nowMs;
    while (--rest > 0) this.gaps.observe(0);
  }
}
