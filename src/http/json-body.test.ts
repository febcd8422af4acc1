import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error.js';
import { exceedsDepth, parseJsonBody } from './json-body.js';

function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

function nestedObjects(depth: number): string {
  let s = '1';
  for (let i = 0; i < depth; i++) s = `{"a":${s}}`;
  return s;
}

function errorOf(text: string): GatewayError {
  try {
    parseJsonBody(text);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

describe('parseJsonBody: depth limit', () => {
  it.each([
    { name: '64 arrays', text: nestedArrays(64), ok: true },
    { name: '65 arrays', text: nestedArrays(65), ok: false },
    { name: '64 objects', text: nestedObjects(64), ok: true },
    { name: '65 objects', text: nestedObjects(65), ok: false },
    { name: 'mixed 64', text: `{"m":${nestedArrays(63)}}`, ok: true },
    { name: 'mixed 65', text: `{"m":${nestedArrays(64)}}`, ok: false },
    // Siblings do not add up: depth is about nesting, not about how many brackets there are.
    { name: '1000 siblings at depth 2', text: `[${Array.from({ length: 1000 }, () => '[]').join(',')}]`, ok: true },
    { name: '64 deep twice in a row', text: `[${nestedArrays(63)},${nestedArrays(63)}]`, ok: true },
  ])('$name → ok=$ok', ({ text, ok }) => {
    if (ok) {
      expect(parseJsonBody(text)).toEqual(JSON.parse(text));
    } else {
      const err = errorOf(text);
      expect(err.code).toBe('invalid_json');
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/nested deeper than 64/);
    }
  });

  it.each([
    { name: 'brackets inside a string', text: `{"s":"${'['.repeat(500)}${'{'.repeat(500)}"}`, expected: { s: `${'['.repeat(500)}${'{'.repeat(500)}` } },
    { name: 'escaped quote does not end the string', text: `{"s":"\\"${'['.repeat(100)}"}`, expected: { s: `"${'['.repeat(100)}` } },
    { name: 'escaped backslash then quote ends the string', text: `{"s":"\\\\","t":[1]}`, expected: { s: '\\', t: [1] } },
    { name: 'closing brackets in a string do not lower the depth', text: `{"s":"${']'.repeat(100)}","a":[[1]]}`, expected: { s: ']'.repeat(100), a: [[1]] } },
  ])('$name is ignored by the depth check', ({ text, expected }) => {
    expect(parseJsonBody(text)).toEqual(expected);
  });

  it('closing brackets inside a string cannot hide real depth', () => {
    // If "]]]" inside the string were counted the depth would look like 65 - 100 < 64.
    const text = `[${'['.repeat(63)}"${']'.repeat(100)}"${']'.repeat(63)}]`;
    expect(parseJsonBody(text)).toEqual(JSON.parse(text));
    const deeper = `[${'['.repeat(64)}"${']'.repeat(100)}"${']'.repeat(64)}]`;
    expect(errorOf(deeper).message).toMatch(/nested deeper/);
  });

  it('100k nested [ is refused quickly, without a stack overflow', () => {
    const text = '['.repeat(100_000);
    const started = performance.now();
    const err = errorOf(text);
    expect(err.code).toBe('invalid_json');
    expect(err.message).toMatch(/nested deeper/);
    // Generous bound: the check stops at depth 65, so this is microseconds in practice.
    expect(performance.now() - started).toBeLessThan(500);
  });

  it.each([
    { text: '[[]]', max: 2, exceeds: false },
    { text: '[[[]]]', max: 2, exceeds: true },
    { text: '"[[[["', max: 0, exceeds: false },
    { text: '[]', max: 0, exceeds: true },
    { text: '', max: 0, exceeds: false },
  ])('exceedsDepth($text, $max) = $exceeds', ({ text, max, exceeds }) => {
    expect(exceedsDepth(text, max)).toBe(exceeds);
  });
});

describe('parseJsonBody: forbidden keys', () => {
  it.each([
    { name: '__proto__ at the top', text: '{"__proto__":{"polluted":true}}' },
    { name: '__proto__ nested', text: '{"model":"m","messages":[{"role":"user","__proto__":{"polluted":true}}]}' },
    { name: 'constructor.prototype', text: '{"constructor":{"prototype":{"polluted":true}}}' },
    { name: 'constructor.prototype nested', text: '{"a":[{"constructor":{"prototype":{"polluted":true}}}]}' },
    { name: '__proto__ spelled with an escape', text: '{"\\u005f_proto__":{"polluted":true}}' },
  ])('$name → invalid_json, no pollution', ({ text }) => {
    const err = errorOf(text);
    expect(err.code).toBe('invalid_json');
    expect(err.status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a key named "constructor" without "prototype" is allowed', () => {
    expect(parseJsonBody('{"constructor":"x"}')).toEqual({ constructor: 'x' });
  });

  it('"__proto__" as a string value is allowed', () => {
    expect(parseJsonBody('{"a":"__proto__"}')).toEqual({ a: '__proto__' });
  });
});

describe('parseJsonBody: empty and invalid bodies', () => {
  it.each([
    { name: 'empty', text: '' },
    { name: 'truncated', text: '{"model":"m"' },
    { name: 'trailing comma', text: '{"a":1,}' },
    { name: 'single quotes', text: "{'a':1}" },
    { name: 'garbage', text: 'model=gpt' },
    { name: 'two values', text: '{}{}' },
    { name: 'whitespace only', text: '   ' },
  ])('$name → invalid_json 400', ({ text }) => {
    const err = errorOf(text);
    expect(err.code).toBe('invalid_json');
    expect(err.status).toBe(400);
    expect(err.type).toBe('invalid_request_error');
  });

  it('an empty body says so', () => {
    expect(errorOf('').message).toMatch(/empty/);
  });

  it.each([
    { text: '{"model":"m","messages":[]}', value: { model: 'm', messages: [] } },
    { text: ' \n{"a":[1,2,{"b":null}]}\n', value: { a: [1, 2, { b: null }] } },
    { text: '[1]', value: [1] },
    { text: '"s"', value: 's' },
  ])('parses $text', ({ text, value }) => {
    expect(parseJsonBody(text)).toEqual(value);
  });
});
