import { setFlagsFromString } from 'node:v8';

/**
 * Redaction of stored prompts and completions. Patterns run on V8's linear-time engine (the `l`
 * flag): matching costs time proportional to the text, whatever the pattern and the text, so a
 * pattern cannot be made to backtrack for minutes (ReDoS). That engine refuses what it cannot run
 * in linear time (back-references, lookarounds): such a pattern is a config error, said at load.
 * The text is already capped (`payloads.maxBytes`), and there are at most MAX_PATTERNS.
 */

export const MAX_PATTERNS = 16;
export const MAX_PATTERN_LENGTH = 512;
export const REDACTED = '[REDACTED]';

let linearEngine = false;

/**
 * The linear engine is behind a V8 flag; it only makes the `l` flag available (nothing else
 * changes), and is set once, before the first pattern is compiled.
 */
function enableLinearEngine(): void {
  if (linearEngine) return;
  setFlagsFromString('--enable-experimental-regexp-engine');
  linearEngine = true;
}

/** The compiled pattern (global, linear-time), or throws saying why it cannot be one. */
export function compileRedaction(pattern: string): RegExp {
  enableLinearEngine();
  if (pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) throw new Error(`must be 1 to ${MAX_PATTERN_LENGTH} characters`);
  try {
    const re = new RegExp(expandCounts(pattern), 'gl');
    // A pattern that matches the empty string would insert the marker between every character.
    if (re.test('')) throw new Error('matches the empty string');
    re.lastIndex = 0;
    return re;
  } catch (err) {
    const message = (err as Error).message;
    throw new Error(
      /linear time/.test(message)
        ? 'cannot run in linear time (no back-references or lookarounds, and no repeat count above 16 except on a single character or class, such as [0-9a-f]{32})'
        : message.replace(/^Invalid regular expression: /, ''),
    );
  }
}

/** One atom of a pattern (a whole character class, an escape, or one character) and its count, if any. */
const atomAndCount = /(\[(?:\\.|[^\\\]])*\]|\\.|[^])(\{(\d{1,5})(,?)\})?/g;
const LINEAR_MAX_COUNT = 16;

/**
 * V8's linear engine refuses counted repeats above 16, yet the rules people write for real
 * secrets need them (`sk-[A-Za-z0-9]{48}`). For a single-character atom (a class, an escape, `.`
 * or a literal) `a{n}` or `a{n,}`, the count is split into `a{16}a{16}…a{r}` (then `a*`), which
 * matches the same strings. Classes are read whole, so nothing inside one is touched. Counts on
 * groups, and ranges `{n,m}`, are left as written (and refused above 16, saying why).
 */
function expandCounts(pattern: string): string {
  return pattern.replace(atomAndCount, (whole: string, atom: string, counted: string | undefined, count: string | undefined, open: string | undefined) => {
    const n = Number(count);
    if (counted === undefined || n <= LINEAR_MAX_COUNT || n > 4_096 || /^[()|^$*+?{}]$/.test(atom)) return whole;
    const parts = `${atom}{${LINEAR_MAX_COUNT}}`.repeat(Math.floor(n / LINEAR_MAX_COUNT)) + (n % LINEAR_MAX_COUNT > 0 ? `${atom}{${n % LINEAR_MAX_COUNT}}` : '');
    return open === ',' ? `${parts}${atom}*` : parts;
  });
}

/** Why `pattern` cannot be a redaction rule, or undefined when it can (for config validation). */
export function redactionProblem(pattern: string): string | undefined {
  try {
    compileRedaction(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Compiled patterns by their text: a team's rules are compiled once, not per request (bounded). */
const compiled = new Map<string, RegExp>();
const MAX_COMPILED = 1_000;

/** `text` with every match of every pattern replaced by REDACTED. Patterns are valid (checked at load). */
export function redact(text: string, patterns: readonly string[]): string {
  let out = text;
  for (const p of patterns.slice(0, MAX_PATTERNS)) {
    let re = compiled.get(p);
    if (!re) {
      if (compiled.size >= MAX_COMPILED) compiled.clear();
      re = compileRedaction(p);
      compiled.set(p, re);
    }
    re.lastIndex = 0;
    out = out.replace(re, REDACTED);
  }
  return out;
}
