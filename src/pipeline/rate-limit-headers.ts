/**
 * OpenAI's `x-ratelimit-reset-*` values are Go-style durations ("12ms", "1s", "6m0s"), so
 * clients that parse OpenAI's headers parse ours.
 */
export function formatResetDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total < 1000) return `${total}ms`;
  if (total < 60_000) return `${Number((total / 1000).toFixed(3))}s`;
  // Round to whole seconds before splitting, so 119.6 s is "2m0s", never "1m60s".
  const wholeSeconds = Math.round(total / 1000);
  const hours = Math.floor(wholeSeconds / 3600);
  const minutes = Math.floor((wholeSeconds % 3600) / 60);
  const seconds = wholeSeconds % 60;
  return hours > 0 ? `${hours}h${minutes}m${seconds}s` : `${minutes}m${seconds}s`;
}
