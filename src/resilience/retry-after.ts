/**
 * Reading and writing server-requested waits. Providers disagree on the header (OpenAI and
 * Stainless SDKs use `retry-after-ms`, Azure `x-ms-retry-after-ms`, everyone `retry-after`), and
 * values arrive as floats, seconds or HTTP-dates. Anything malformed is ignored rather than
 * guessed at, so the caller falls back to its own backoff (scenario F-05). Waits longer than an hour are read as an hour (`boundedWaitMs`).
 */

// Plain non-negative decimals only: Number() would also accept "", "0x10", "1e3" and " ".
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

// The three HTTP-date forms every recipient must accept (RFC 9110 §5.6.7).
const IMF_FIXDATE = /^[a-z]{3}, (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const RFC_850 = /^[a-z]{6,9}, (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const ASCTIME = /^[a-z]{3} ([a-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

/**
 * Milliseconds the upstream asked us to wait, or undefined when no header holds a usable value.
 * `get(name)` returns the value of the lower-case header `name`. Checks `retry-after-ms`, then
 * `x-ms-retry-after-ms` (both float ms), then `retry-after` (seconds, or an HTTP-date taken
 * relative to `nowWallMs`, epoch ms). Result is finite and ≥ 0 (a past date gives 0). Never throws.
 */
export function parseRetryAfterMs(
  get: (name: string) => string | undefined,
  nowWallMs: number,
): number | undefined {
  return boundedWaitMs(
    parseDecimal(get('retry-after-ms'), 1) ??
      parseDecimal(get('x-ms-retry-after-ms'), 1) ??
      parseRetryAfter(get('retry-after'), nowWallMs),
  );
}

/**
 * A wait a provider asked for, as the gateway reads it: undefined unless finite and ≥ 0, and at
 * most `maxClientWaitMs` (an hour). Every parser of provider waits (these headers, the
 * `x-ratelimit-reset-*` headers, Gemini's RetryInfo) ends here, so no absurd value travels on;
 * the deployment cooldown it starts is capped again by `retry.maxCooldownMs`.
 */
export function boundedWaitMs(ms: number | undefined): number | undefined {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(ms, maxClientWaitMs);
}

/**
 * Longest wait the gateway ever tells a client (`Retry-After`, `retry-after-ms`,
 * `x-ratelimit-reset-*`): one hour. A client told longer usually gives up; one that comes back
 * early meets another 429 with a fresh value. It also keeps every such header a short integer
 * whatever produced the wait (a bucket deep in debt, a provider's absurd `Retry-After`).
 */
export const maxClientWaitMs = 3_600_000;

/** A wait clamped to 0…`maxClientWaitMs`; negative and NaN are 0, Infinity is the cap. */
function clampClientWaitMs(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(ms, maxClientWaitMs);
}

/**
 * Renders a wait in ms as a `Retry-After` value in whole seconds: rounded up so clients never
 * come back early, at least "1" for any positive wait, "0" for 0 (and for negative or NaN
 * input); at most `maxClientWaitMs` (Infinity included), so it is always a small integer.
 */
export function formatRetryAfterSeconds(ms: number): string {
  const clamped = clampClientWaitMs(ms);
  if (clamped === 0) return '0';
  return String(Math.max(1, Math.ceil(clamped / 1000)));
}

/** The same wait as a `retry-after-ms` value: whole ms, rounded up, clamped like `formatRetryAfterSeconds`. */
export function formatRetryAfterMs(ms: number): string {
  return String(Math.ceil(clampClientWaitMs(ms)));
}

function parseRetryAfter(value: string | undefined, nowWallMs: number): number | undefined {
  const seconds = parseDecimal(value, 1000);
  if (seconds !== undefined) return seconds;
  if (value === undefined || !Number.isFinite(nowWallMs)) return undefined;
  const dateMs = parseHttpDateMs(value.trim(), nowWallMs);
  if (dateMs === undefined) return undefined;
  return Math.max(0, dateMs - nowWallMs);
}

function parseDecimal(value: string | undefined, scale: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!DECIMAL.test(trimmed)) return undefined;
  const ms = Number(trimmed) * scale;
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Epoch ms of an HTTP-date in any of its three forms, or undefined if `value` is not one (or
 * names an impossible day). `nowWallMs` (epoch ms) resolves RFC 850 two-digit years. Never throws.
 */
export function parseHttpDateMs(value: string, nowWallMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m) return utcMs(Number(m[3]), m[2], Number(m[1]), m.slice(4, 7));
  m = RFC_850.exec(value);
  if (m) {
    const year = expandTwoDigitYear(Number(m[3]), nowWallMs);
    return utcMs(year, m[2], Number(m[1]), m.slice(4, 7));
  }
  m = ASCTIME.exec(value);
  if (m) return utcMs(Number(m[6]), m[1], Number(m[2]), m.slice(3, 6));
  return undefined;
}

// RFC 9110: a two-digit year more than 50 years in the future means the most recent past year
// with those digits.
function expandTwoDigitYear(twoDigits: number, nowWallMs: number): number {
  const nowYear = new Date(nowWallMs).getUTCFullYear();
  const year = nowYear - (nowYear % 100) + twoDigits;
  return year > nowYear + 50 ? year - 100 : year;
}

function utcMs(
  year: number,
  monthName: string | undefined,
  day: number,
  time: readonly (string | undefined)[],
): number | undefined {
  const month = MONTHS.indexOf(monthName?.toLowerCase() ?? '');
  const hour = Number(time[0]);
  const minute = Number(time[1]);
  const second = Number(time[2]);
  if (month < 0 || !(hour <= 23 && minute <= 59 && second <= 60)) return undefined;
  // A leap second (:60) is read as :59 rather than rolling into the next minute.
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls "31 Feb" into March; a date that does not round-trip is garbage.
  const check = new Date(ms);
  if (Number.isNaN(ms) || check.getUTCDate() !== day || check.getUTCMonth() !== month) {
    return undefined;
  }
  return ms;
}
