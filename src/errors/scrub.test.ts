import { describe, expect, it } from 'vitest';
import { scrubSecrets } from './scrub.js';

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
