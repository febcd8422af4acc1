/**
 * The reset time of a provider quota that a 429 says is spent, from OpenAI-style headers
 * (`x-ratelimit-remaining-requests: 0` with `x-ratelimit-reset-requests: 6m0s`; the same for
 * `tokens`). OpenAI-compatible servers (Groq, Together, some vLLM proxies…) send these on a 429
 * without any `Retry-After`; the reset is then the best wait we have, better than a fixed cooldown.
 * Only a limit reported as exhausted counts: the reset of a limit with room left says nothing
 * about this 429, and its (often long) token window would cool the deployment for nothing.
 */

import { boundedWaitMs } from './retry-after.js';

const LIMITS = ['requests', 'tokens'] as const;

// Go-style durations as OpenAI writes them: "1s", "20ms", "6m0s", "1h2m3.5s", "0.5s".
const DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;

/**
 * Ms until the longest-waiting exhausted limit resets (at most an hour: `boundedWaitMs`), or
 * undefined when no exhausted limit states a readable reset. `get(name)` returns the lower-case header `name`. Never throws.
 */
export function parseRateLimitResetMs(get: (name: string) => string | undefined): number | undefined {
  let waitMs: number | undefined;
  for (const limit of LIMITS) {
    if (get(`x-ratelimit-remaining-${limit}`)?.trim() !== '0') continue;
    const reset = parseDurationMs(get(`x-ratelimit-reset-${limit}`));
    if (reset !== undefined) waitMs = Math.max(waitMs ?? 0, reset);
  }
  return boundedWaitMs(waitMs);
}

/** Ms of a Go-style duration ("6m0s", "20ms"); a bare number is seconds. Undefined if malformed. */
export function parseDurationMs(value: string | undefined): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(v)) return Number(v) * 1000;
  const m = DURATION.exec(v);
  if (!m || m.slice(1).every((p) => p === undefined)) return undefined;
  const [h, min, s, ms] = m.slice(1).map((p) => (p === undefined ? 0 : Number(p)));
  const total = (h ?? 0) * 3_600_000 + (min ?? 0) * 60_000 + (s ?? 0) * 1000 + (ms ?? 0);
  return Number.isFinite(total) ? total : undefined;
}
