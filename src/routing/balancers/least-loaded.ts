import { systemClock, type Clock } from '../../clock.js';
import type { Balancer, LoadCandidate } from '../balancer.js';

/**
 * Power of two choices on a load score (Finagle's and Linkerd's peak-EWMA balancer): draw two
 * distinct candidates at random and send the request to the one with the lower
 *
 *     peak-EWMA TTFT × (requests in flight + 1)
 *
 * where in flight is this replica's attempts on the deployment plus the server's own queue
 * when a fresh scrape reports one. The peak-EWMA jumps to a slow sample at once and decays
 * back, so a deployment that just slowed down sheds load immediately; the in-flight factor
 * reacts before any sample returns. Comparing two random candidates rather than taking the
 * global minimum is what keeps every gateway replica (and every burst within one) from herding
 * onto the same momentarily best deployment, while still avoiding the worst: a candidate only
 * wins against one at least as loaded, so the most loaded one is chosen only on a tie.
 *
 * An unmeasured candidate (no sample yet, or a value that is not a finite number) is scored at
 * the mean peak of the measured ones: a typical deployment, ranked by its in-flight count. A
 * score of 0 would make it win every draw until its first answer returned, sending it a whole
 * burst blind; infinity would never measure it. With nothing measured, every peak counts as 1
 * and the score is the in-flight count alone (least requests).
 */
export class LeastLoadedBalancer implements Balancer {
  constructor(
    private readonly random: () => number = Math.random,
    private readonly clock: Clock = systemClock,
  ) {}

  pick<T extends LoadCandidate>(candidates: readonly T[]): T | undefined {
    const n = candidates.length;
    if (n <= 1) return candidates[0];
    const now = this.clock.nowMs();
    const i = Math.min(n - 1, Math.floor(this.random() * n));
    let j = Math.min(n - 2, Math.floor(this.random() * (n - 1)));
    if (j >= i) j++;
    const a = candidates[i]!;
    const b = candidates[j]!;
    // The mean over all candidates is only needed when one of the two is unmeasured.
    const neutral = usable(a.stats.peakMs(now)) && usable(b.stats.peakMs(now)) ? 1 : neutralPeakMs(candidates, now);
    return loadScore(b, now, neutral) < loadScore(a, now, neutral) ? b : a;
  }
}

/** peak × (in flight + 1), with `neutralMs` standing in for an unmeasured peak. */
export function loadScore(c: LoadCandidate, nowMs: number, neutralMs: number): number {
  const peak = c.stats.peakMs(nowMs);
  const waiting = c.load.fresh(nowMs)?.waiting;
  const queued = waiting !== undefined && waiting > 0 ? waiting : 0;
  return (usable(peak) ? peak : neutralMs) * (c.load.inFlight + queued + 1);
}

/** The mean peak-EWMA of the measured candidates, or 1 when none is measured. */
export function neutralPeakMs(candidates: readonly LoadCandidate[], nowMs: number): number {
  let sum = 0;
  let count = 0;
  for (const c of candidates) {
    const peak = c.stats.peakMs(nowMs);
    if (usable(peak)) {
      sum += peak;
      count++;
    }
  }
  return count === 0 ? 1 : sum / count;
}

function usable(ms: number | undefined): ms is number {
  return ms !== undefined && Number.isFinite(ms) && ms >= 0;
}
