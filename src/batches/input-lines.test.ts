import { describe, expect, it } from 'vitest';
import { checkForEndpoint, hasLoneSurrogate, isLineError, LineSplitter, LineTooLong, parseInputLine, type InputLine } from './input-lines.js';

const split = (chunks: Array<string | Buffer>, max = 1_000): Array<[number, string]> => {
  const out: Array<[number, string]> = [];
  const s = new LineSplitter(max);
  for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c), (t, l) => out.push([l, t]));
  s.end((t, l) => out.push([l, t]));
  return out;
};

describe('LineSplitter', () => {
  it('splits across chunks, drops CR and a leading BOM, skips blank lines but counts them', () => {
    expect(split([Buffer.from([0xef, 0xbb, 0xbf]), 'a\r', '\n\n  \nb', 'c\nd'])).toEqual([[0, 'a'], [3, 'bc'], [4, 'd']]);
  });

  it('a UTF-8 character cut between chunks is whole in its line', () => {
    const bytes = Buffer.from('é\n');
    expect(split([bytes.subarray(0, 1), bytes.subarray(1)])).toEqual([[0, 'é']]);
  });

  it('refuses a line over the limit as soon as the unfinished part passes it', () => {
    const s = new LineSplitter(10);
    s.push(Buffer.from('ok\n12345'), () => undefined);
    expect(() => s.push(Buffer.from('678901'), () => undefined)).toThrow(LineTooLong);
  });

  it('refuses bytes that are not UTF-8, naming the line', () => {
    expect(() => split(['a\n', Buffer.from([0xff, 0x0a])])).toThrow(/Line 2 is not valid UTF-8/);
  });
});

describe('parseInputLine', () => {
  const ok = '{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[]}}';

  it('reads a request', () => {
    expect(parseInputLine(ok, 0)).toEqual({ customId: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [] } });
  });

  it('refuses what PostgreSQL cannot store: \\u0000 and unpaired surrogate escapes (a pair is fine)', () => {
    const withText = (t: string) => ok.replace('"messages":[]', `"messages":[${JSON.stringify(t)}]`);
    expect(parseInputLine(ok.replace('"m"', '"m\\u0000"'), 0)).toMatchObject({ code: 'invalid_json_line', line: 1 });
    expect(parseInputLine(withText('\ud800'), 0)).toMatchObject({ code: 'invalid_json_line', message: expect.stringMatching(/surrogate/) });
    expect(parseInputLine(withText('\udc00x'), 0)).toMatchObject({ code: 'invalid_json_line' });
    expect(isLineError(parseInputLine(ok.replace('"messages":[]', '"messages":["\\ud83d\\ude00"]'), 0))).toBe(false);
  });

  it('checks what a batch endpoint needs', () => {
    const input = parseInputLine(ok, 4) as InputLine;
    expect(checkForEndpoint(input, 4, '/v1/chat/completions')).toBeNull();
    expect(checkForEndpoint(input, 4, '/v1/embeddings')).toMatchObject({ code: 'mismatched_endpoint', line: 5, param: 'url' });
    expect(checkForEndpoint({ ...input, body: { model: 'm', stream: true } }, 4, '/v1/chat/completions')).toMatchObject({ param: 'body.stream' });
  });

  it('hasLoneSurrogate', () => {
    expect(hasLoneSurrogate('a\ud800')).toBe(true);
    expect(hasLoneSurrogate('\udfffa')).toBe(true);
    expect(hasLoneSurrogate('😀')).toBe(false);
  });
});
