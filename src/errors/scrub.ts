/**
 * Removes credentials from text we did not write (upstream error messages, exception text)
 * before it reaches a client, a log line or a trace. Known secret values are removed in every
 * form an upstream is likely to echo them in (raw, base64 and base64url at any alignment, hex,
 * URL-encoded) and as any long piece of those forms; key-shaped strings are removed by pattern
 * as a second line of defence.
 */
const keyPatterns: readonly RegExp[] = [
  /\b(?:sk|pk|rk|ak)-[A-Za-z0-9_-]{6,}/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]+/gi,
  /\b((?:api[-_]?key|access[-_]?token|token|secret|password|sig|signature|key)=)[^&\s"']+/gi,
  /\bAKIA[0-9A-Z]{12,}/g,
];

const redacted = '[redacted]';
/** Longest text we return; longer text is cut (after scrubbing) and ends in `…`. */
export const maxScrubbedChars = 1000;
/** Secrets shorter than this are not used at all: they would shred ordinary text. */
const minSecretChars = 4;
/**
 * A secret at least this long is also removed piecewise: any run of `windowChars` characters
 * of one of its forms counts as a leak (the last 20 characters of a key, a key cut off by a
 * truncation, the core of a base64 string that had a `user:` prefix). 12 characters of a key
 * are ~60 bits or more for the key formats in use, so an accidental match of ordinary text is
 * not a practical concern.
 */
const minPiecewiseSecretChars = 16;
const windowChars = 12;

/** A scrubber compiled for one set of secrets; cheap to call, linear in the text. */
export type Scrubber = (text: string) => string;

/**
 * Builds the scrubber for a set of secrets, once (a deployment's, at compile time or first use):
 * every encoded form and every `windowChars`-long piece of each form is precomputed, so a call
 * costs one pass over at most `maxScrubbedChars` + the longest form characters.
 */
export function compileScrubber(secrets: readonly string[]): Scrubber {
  const exact = new Set<string>();
  const windows = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < minSecretChars) continue;
    const forms = encodedForms(secret);
    const piecewise = secret.length >= minPiecewiseSecretChars;
    for (const form of forms) {
      exact.add(asciiLower(form));
      if (!piecewise) continue;
      for (let i = 0; i + windowChars <= form.length; i++) windows.add(asciiLower(form.slice(i, i + windowChars)));
    }
  }
  // Longest first, so a form that contains another is removed whole.
  const exactForms = [...exact].filter((f) => f.length >= minSecretChars).sort((a, b) => b.length - a.length);
  const maxFormChars = exactForms.length > 0 ? exactForms[0]!.length : 0;
  return (text) => {
    // Bound the work before anything else; a secret cut by this slice leaves a piece that the
    // window pass or the final cut removes.
    const bound = maxScrubbedChars + maxFormChars;
    const cut = text.length > bound;
    let out = cut ? text.slice(0, bound) : text;
    if (exactForms.length > 0) out = removeKnown(out, exactForms, windows);
    out = removeKeyShaped(out);
    return cut || out.length > maxScrubbedChars ? `${out.slice(0, maxScrubbedChars)}…` : out;
  };
}

const patternsOnly = compileScrubber([]);

/**
 * One-off scrub: key-shaped strings always, and `knownSecrets` when given. Callers that scrub
 * for the same secrets repeatedly use `compileScrubber` (or `scrubberFor`) instead.
 */
export function scrubSecrets(text: string, knownSecrets: readonly string[] = []): string {
  return knownSecrets.length === 0 ? patternsOnly(text) : compileScrubber(knownSecrets)(text);
}

/** Anything that can reveal its secret value (config's `Secret`). */
export interface Revealable {
  reveal(): string;
}

const compiled = new WeakMap<readonly Revealable[], Scrubber>();

/**
 * The scrubber for a deployment's secrets list, compiled on first use and kept as long as the
 * list is (the list is built once per deployment by config compile and replaced on reload).
 */
export function scrubberFor(secrets: readonly Revealable[]): Scrubber {
  let scrubber = compiled.get(secrets);
  if (scrubber === undefined) {
    scrubber = compileScrubber(secrets.map((s) => s.reveal()));
    compiled.set(secrets, scrubber);
  }
  return scrubber;
}

/**
 * The forms in which an upstream may echo a secret: as is, URL-encoded, hex (case is ignored
 * when matching), and base64/base64url. Base64 of a longer string that contains the secret
 * (`Basic base64(user:key)`) depends on where the secret starts modulo 3, so for each of the
 * three alignments we keep the characters that depend on the secret's bytes alone.
 */
function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = [secret, encodeURIComponent(secret), bytes.toString('hex')];
  forms.push(bytes.toString('base64').replace(/=+$/, ''));
  for (let offset = 1; offset <= 2; offset++) {
    const shifted = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Group 0 mixes padding and secret bytes; the last full group is the last one we keep.
    const end = Math.floor((offset + bytes.length) / 3) * 4;
    if (end > 4) forms.push(shifted.slice(4, end));
  }
  for (const form of forms.slice(3)) forms.push(form.replace(/\+/g, '-').replace(/\//g, '_'));
  return forms;
}

/**
 * Replaces every exact form, then every run of text covered by windows of a form, with one
 * `[redacted]`. Matching ignores ASCII case (hex, and upstreams that change a key's case); the
 * lower-casing keeps indexes because it maps ASCII letters one to one.
 */
function removeKnown(text: string, exactForms: readonly string[], windows: ReadonlySet<string>): string {
  const lower = asciiLower(text);
  const covered = new Uint8Array(text.length);
  for (const form of exactForms) {
    for (let at = lower.indexOf(form); at !== -1; at = lower.indexOf(form, at + form.length)) covered.fill(1, at, at + form.length);
  }
  if (windows.size > 0) {
    for (let i = 0; i + windowChars <= lower.length; i++) {
      if (windows.has(lower.slice(i, i + windowChars))) covered.fill(1, i, i + windowChars);
    }
  }
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    if (covered[i] !== 1) continue;
    let end = i;
    while (end < text.length && covered[end] === 1) end++;
    out += text.slice(from, i) + redacted;
    from = end;
    i = end - 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

function removeKeyShaped(text: string): string {
  let out = text;
  for (const pattern of keyPatterns) {
    out = out.replace(pattern, (_match, prefix: unknown) => (typeof prefix === 'string' && prefix.endsWith('=') ? `${prefix}${redacted}` : redacted));
  }
  return out;
}

/** Lower-cases A–Z only, so the result has the same length and indexes as the input. */
function asciiLower(text: string): string {
  return /[A-Z]/.test(text) ? text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32)) : text;
}
