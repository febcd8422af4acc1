/**
 * Longest `x-ratelimit-reset-*` we report: a year. Unlike `Retry-After` this says when the
 * bucket is full again, which a slow refill can legitimately put days away; the cap only keeps
 * the value a short duration whatever the arithmetic gave (never "2.7e+293h" or "NaNms").
 */
export const maxReportedResetMs = 365 * 24 * 3_600_000;

/**
 * OpenAI's `x-ratelimit-reset-*` values are Go-style durations ("12ms", "1s", "6m0s"), so
 * clients that parse OpenAI's headers parse ours. NaN and negative are 0; at most `maxReportedResetMs`.
 */
export function formatResetDuration(ms: number): string {
  const total = ms > 0 ? Math.ceil(Math.min(ms, maxReportedResetMs)) : 0;
  if (total < 1000) return `${total}ms`;
  if (total < 60_000) return `${Number((total / 1000).toFixed(3))}s`;
  // Round to whole seconds before splitting, so 119.6 s is "2m0s", never "1m60s".
  const wholeSeconds = Math.round(total / 1000);
  const hours = Math.floor(wholeSeconds / 3600);
  const minutes = Math.floor((wholeSeconds % 3600) / 60);
  const seconds = wholeSeconds % 60;
  return hours > 0 ? `${hours}h${minutes}m${seconds}s` : `${minutes}m${seconds}s`;
}
