import { describe, expect, it } from 'vitest';
import { compileScrubber, scrubberFor, scrubSecrets } from './scrub.js';

describe('scrubSecrets: known secrets', () => {
  it.each([
    { name: 'plain', text: 'failed with key my-upstream-secret-value', secrets: ['my-upstream-secret-value'], secret: 'my-upstream-secret-value' },
    { name: 'every occurrence', text: 'x=QWERTY123 and again QWERTY123', secrets: ['QWERTY123'], secret: 'QWERTY123' },
    { name: 'regex characters in the secret', text: 'key (a.b*c+?) leaked', secrets: ['a.b*c+?'], secret: 'a.b*c+?' },
    { name: 'several secrets', text: 'one=AAAA1111 two=BBBB2222', secrets: ['AAAA1111', 'BBBB2222'], secret: 'BBBB2222' },
  ])('$name', ({ text, secrets, secret }) => {
    const out = scrubSecrets(text, secrets);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });

  it('secrets shorter than 4 characters are not used (they would shred ordinary text)', () => {
    expect(scrubSecrets('abc abc', ['abc'])).toBe('abc abc');
  });

  it('text without secrets is unchanged', () => {
    const text = 'The model `gpt-4o` does not exist or you do not have access to it.';
    expect(scrubSecrets(text, ['zzzzzzzz'])).toBe(text);
  });
});

describe('scrubSecrets: key-shaped strings', () => {
  it.each([
    { name: 'OpenAI sk- key', text: 'Incorrect API key provided: sk-proj-Abc123_def-456.', leaked: 'sk-proj-Abc123_def-456' },
    { name: 'sk- key at the start', text: 'sk-abcdefghijkl is wrong', leaked: 'sk-abcdefghijkl' },
    { name: 'pk- key', text: 'bad key pk-live-1234567', leaked: 'pk-live-1234567' },
    { name: 'Bearer token', text: 'sent Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9.sig', leaked: 'eyJhbGciOi.JIUzI1NiJ9.sig' },
    { name: 'bearer in lower case', text: 'header bearer abc.def-ghi', leaked: 'abc.def-ghi' },
    { name: 'api_key= query', text: 'GET https://x.example/v1?api_key=s3cr3t&x=1', leaked: 's3cr3t' },
    { name: 'api-key= query', text: 'url ?api-key=s3cr3t', leaked: 's3cr3t' },
    { name: 'token=', text: 'callback?token=tok_999 failed', leaked: 'tok_999' },
    { name: 'sig=', text: 'blob?sv=2020&sig=AbC%2Bd', leaked: 'AbC%2Bd' },
    { name: 'password=', text: 'redis://u?password=hunter22', leaked: 'hunter22' },
    { name: 'AWS access key id', text: 'credential AKIAABCDEFGHIJKLMNOP/20240101', leaked: 'AKIAABCDEFGHIJKLMNOP' },
  ])('$name', ({ text, leaked }) => {
    const out = scrubSecrets(text);
    expect(out).not.toContain(leaked);
    expect(out).toContain('[redacted]');
  });

  it('keeps the parameter name of a key=value', () => {
    expect(scrubSecrets('?api_key=abc&model=x')).toBe('?api_key=[redacted]&model=x');
  });

  it('does not touch words that merely contain "sk"', () => {
    const text = 'task-runner asked for desk-lamp';
    expect(scrubSecrets(text)).toBe(text);
  });
});

describe('scrubSecrets: length', () => {
  it.each([
    { length: 999, truncated: false },
    { length: 1000, truncated: false },
    { length: 1001, truncated: true },
    { length: 100_000, truncated: true },
  ])('$length characters → truncated=$truncated', ({ length, truncated }) => {
    const out = scrubSecrets('x'.repeat(length));
    if (truncated) {
      expect(out).toBe(`${'x'.repeat(1000)}…`);
    } else {
      expect(out).toBe('x'.repeat(length));
    }
  });

  it('scrubs before truncating, so a key near the cut is not half-shown', () => {
    const out = scrubSecrets(`${'y'.repeat(990)} sk-abcdefghijklmnopqrstuvwxyz`);
    expect(out).not.toContain('sk-abc');
    expect(out).not.toContain('abcdefghij');
  });
});

describe('compileScrubber: encoded forms and long pieces of a known secret (issue 9 §7)', () => {
  // A vLLM/Azure-style key: no sk- shape, so no pattern helps; only the known value can.
  const key = 'Zq8xVb4TnW2rLm7PdK9sHc3YfJ6gE1uA';
  const scrub = compileScrubber([key]);
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const b64url = (s: string): string => Buffer.from(s).toString('base64url');
  it.each([
    { name: 'raw', leaked: key },
    { name: 'base64', leaked: b64(key) },
    { name: 'base64url', leaked: b64url(`${key}??>>`) },
    { name: 'base64 of user:key (Basic header, offset 1 mod 3)', leaked: b64(`u:${key}`) },
    { name: 'base64 of ab:key (offset 0 mod 3 after a prefix)', leaked: b64(`ab:${key}`) },
    { name: 'base64 of x:key (offset 2 mod 3)', leaked: b64(`x:${key}`) },
    { name: 'hex', leaked: Buffer.from(key).toString('hex') },
    { name: 'HEX', leaked: Buffer.from(key).toString('hex').toUpperCase() },
    { name: 'URL-encoded', leaked: encodeURIComponent(`${key}/+=`) },
    { name: 'last 20 characters', leaked: key.slice(-20) },
    { name: 'first 12 characters', leaked: key.slice(0, 12) },
    { name: 'a 12-character piece from the middle', leaked: key.slice(9, 21) },
    { name: 'upper-cased', leaked: key.toUpperCase() },
  ])('$name', ({ leaked }) => {
    const out = scrub(`upstream said: credential "${leaked}" is not valid for this model`);
    expect(out).toContain('[redacted]');
    expect(out).toContain('upstream said: credential "');
    expect(out).toContain('" is not valid for this model');
    // Nothing of 12 characters or more of the key, in any form, survives.
    for (let i = 0; i + 12 <= key.length; i++) expect(out).not.toContain(key.slice(i, i + 12));
    expect(out).not.toContain(b64(key).slice(4, 16));
  });

  it('a key with URL-special characters, URL-encoded', () => {
    const special = 'abc+def/ghi=jkl&mno';
    expect(compileScrubber([special])(`?k=${encodeURIComponent(special)}`)).not.toContain('ghi');
  });

  it('pieces shorter than 12 characters, and pieces of short secrets, are left (ordinary text survives)', () => {
    const text = `ends in ${key.slice(-11)}`;
    expect(scrub(text)).toBe(text);
    const short = compileScrubber(['shortsecret12']);
    expect(short('x shortsecret y')).toBe('x shortsecret y');
    expect(short('x shortsecret12 y')).toBe('x [redacted] y');
  });

  it('adjacent forms collapse into one [redacted]', () => {
    expect(scrub(`${key}${key}.`)).toBe('[redacted].');
  });

  it('bounded work: a 64 KB message is scanned only up to the cap and its length', () => {
    const text = `${'a'.repeat(64 * 1024)}${key}`;
    const out = scrub(text);
    expect(out).toHaveLength(1001);
    expect(out.endsWith('…')).toBe(true);
  });

  it('a key cut by the length cap leaves no piece of 12 characters', () => {
    const text = `${'a'.repeat(990)}${key}`;
    const out = scrub(text);
    expect(out).not.toContain(key.slice(0, 12));
    expect(out).not.toContain(key.slice(0, 10));
  });

  it('scrubberFor compiles once per secrets list', () => {
    let reveals = 0;
    const secrets = [{ reveal: () => (reveals++, key) }];
    expect(scrubberFor(secrets)(key)).toBe('[redacted]');
    expect(scrubberFor(secrets)(key)).toBe('[redacted]');
    expect(reveals).toBe(1);
  });
});
