import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SseDecoder, SseTooLargeError } from './sse-decoder.js';
import type { SseEvent } from './sse-event.js';

// Recorded real OpenAI streams, copied into the repository with their license (test/fixtures/README.md).
const FIXTURES = new URL('../../test/fixtures/openai-chat-streams/', import.meta.url);
const fixtureNames = readdirSync(FIXTURES).filter((name) => name.endsWith('.sse')).sort();

const encoder = new TextEncoder();

function decodeChunks(chunks: Iterable<Uint8Array>, decoder = new SseDecoder()): SseEvent[] {
  const events: SseEvent[] = [];
  for (const chunk of chunks) events.push(...decoder.push(chunk));
  events.push(...decoder.end());
  return events;
}

function decodeText(...parts: string[]): SseEvent[] {
  return decodeChunks(parts.map((part) => encoder.encode(part)));
}

function* oneByteChunks(bytes: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
}

function withLineEnds(bytes: Uint8Array, lineEnd: '\r\n' | '\r'): Uint8Array {
  return encoder.encode(Buffer.from(bytes).toString('utf8').replaceAll('\n', lineEnd));
}

function sameEvents(a: SseEvent[], b: SseEvent[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((e, i) => e.data === b[i]?.data && e.event === b[i]?.event && e.id === b[i]?.id);
}

// Field-by-field comparison instead of toEqual: the sweep decodes ~50 KB fixtures tens of
// thousands of times, and a matcher per split would dominate the run time.
function expectSameWhenSplitAt(bytes: Uint8Array, offsets: Iterable<number>, expected: SseEvent[]): void {
  for (const i of offsets) {
    const decoder = new SseDecoder();
    const events = [...decoder.push(bytes.subarray(0, i)), ...decoder.push(bytes.subarray(i)), ...decoder.end()];
    if (!sameEvents(events, expected)) expect.fail(`split at byte ${i} changed the events`);
  }
}

function* everyOffset(bytes: Uint8Array): Generator<number> {
  for (let i = 0; i <= bytes.length; i++) yield i;
}

// Offsets next to a CR or LF: where a CRLF can be cut in two or a line end can start a chunk.
function* lineEndOffsets(bytes: Uint8Array): Generator<number> {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 10 || bytes[i] === 13) yield* [i, i + 1];
  }
}

const message = (data: string, extra: Partial<SseEvent> = {}): SseEvent => ({
  event: undefined,
  data,
  id: undefined,
  ...extra,
});

describe('SseDecoder on recorded OpenAI streams', () => {
  it('has fixtures to replay', () => {
    expect(fixtureNames.length).toBeGreaterThan(0);
  });

  for (const name of fixtureNames) {
    describe(name.slice(0, 12), () => {
      const bytes = new Uint8Array(readFileSync(new URL(name, FIXTURES)));
      const reference = decodeChunks([bytes]);

      it('decodes as one chunk: JSON events then [DONE]', () => {
        expect(reference.length).toBeGreaterThan(1);
        expect(reference.at(-1)?.data).toBe('[DONE]');
        for (const event of reference.slice(0, -1)) {
          expect(event.event).toBeUndefined();
          expect(() => JSON.parse(event.data) as unknown).not.toThrow();
        }
      });

      // ~47,000 full decodes for the largest fixture: a few seconds, more on a loaded CI box.
      it('gives the same events split into two at every byte offset', { timeout: 60_000 }, () => {
        expectSameWhenSplitAt(bytes, everyOffset(bytes), reference);
      });

      it('gives the same events in 1-byte chunks', () => {
        expect(decodeChunks(oneByteChunks(bytes))).toEqual(reference);
      });

      for (const lineEnd of ['\r\n', '\r'] as const) {
        // 1-byte chunks cut every CRLF in two at once; the two-chunk splits next to each line
        // end cover the CR-ends-a-chunk case one line at a time.
        it(`gives the same events with ${JSON.stringify(lineEnd)} line ends, however split`, () => {
          const converted = withLineEnds(bytes, lineEnd);
          expect(decodeChunks([converted])).toEqual(reference);
          expect(decodeChunks(oneByteChunks(converted))).toEqual(reference);
          expectSameWhenSplitAt(converted, lineEndOffsets(converted), reference);
        });
      }
    });
  }
});

describe('SseDecoder rules', () => {
  it('joins data lines with LF and removes one leading space only', () => {
    expect(decodeText('data: a\ndata:b\ndata:  c\n\n')).toEqual([message('a\nb\n c')]);
  });

  it('accepts LF, CR and CRLF line ends, mixed', () => {
    expect(decodeText('data: a\r\rdata: b\r\n\r\ndata: c\n\n')).toEqual([
      message('a'),
      message('b'),
      message('c'),
    ]);
  });

  it('treats a CR ending one chunk and an LF starting the next as one line end', () => {
    expect(decodeText('data: a\r', '\ndata: b\r', '\n\r', '\n')).toEqual([message('a\nb')]);
  });

  it('still treats a lone CR at a chunk end as a line end', () => {
    expect(decodeText('data: a\r', '\r')).toEqual([message('a')]);
    expect(decodeText('data: a\r', 'data: b\r\r')).toEqual([message('a\nb')]);
  });

  it('ignores comment lines', () => {
    expect(decodeText(': keep-alive\n\n:\ndata: x\n: inside\n\n')).toEqual([message('x')]);
  });

  it('reads event and id fields, and ignores an id containing NUL', () => {
    expect(decodeText('event: delta\nid: 7\ndata: x\n\n')).toEqual([message('x', { event: 'delta', id: '7' })]);
    expect(decodeText('id: 1\0\ndata: x\n\n')).toEqual([message('x')]);
    expect(decodeText('id\ndata: x\n\n')).toEqual([message('x', { id: '' })]);
  });

  it('reports an id only on the event that carried it', () => {
    expect(decodeText('id: 1\ndata: a\n\ndata: b\n\n')).toEqual([message('a', { id: '1' }), message('b')]);
  });

  it('treats an empty event field as the default type', () => {
    expect(decodeText('event:\ndata: x\n\n')).toEqual([message('x')]);
  });

  it('ignores retry and unknown fields', () => {
    expect(decodeText('retry: 1000\nfoo: bar\ndata: x\n\n')).toEqual([message('x')]);
  });

  it('does not dispatch an event without data lines', () => {
    expect(decodeText('event: ping\n\nid: 3\n\n\n\n')).toEqual([]);
  });

  it('dispatches an empty data line as empty data', () => {
    expect(decodeText('data\n\ndata:\n\n')).toEqual([message(''), message('')]);
  });

  it('takes a line without a colon as a field name with an empty value', () => {
    expect(decodeText('data\ndata\n\n')).toEqual([message('\n')]);
  });

  it('discards an event not terminated by a blank line at end()', () => {
    expect(decodeText('data: a\n\ndata: b\n')).toEqual([message('a')]);
    expect(decodeText('data: a\n\ndata: b')).toEqual([message('a')]);
  });

  it('can be reused after end()', () => {
    const decoder = new SseDecoder();
    decoder.push(encoder.encode('data: cut'));
    expect(decoder.end()).toEqual([]);
    expect(decoder.push(encoder.encode('data: next\n\n'))).toEqual([message('next')]);
  });

  it('strips one leading BOM, even when split, and no later one', () => {
    const bom = [0xef, 0xbb, 0xbf];
    const body = encoder.encode('data: x\n\n');
    const chunks = [new Uint8Array(bom.slice(0, 2)), new Uint8Array([...bom.slice(2), ...body])];
    expect(decodeChunks(chunks)).toEqual([message('x')]);
    // A second BOM is part of the next field name, which makes it an unknown field.
    const twice = new Uint8Array([...bom, ...bom, ...body]);
    expect(decodeChunks([twice])).toEqual([]);
  });

  it('decodes multibyte UTF-8 split inside a code point', () => {
    const text = 'data: héllo 😀 中文 🇫🇷\n\n';
    const bytes = encoder.encode(text);
    const expected = [message('héllo 😀 中文 🇫🇷')];
    expect(decodeChunks(oneByteChunks(bytes))).toEqual(expected);
    for (let i = 0; i <= bytes.length; i++) {
      expect(decodeChunks([bytes.subarray(0, i), bytes.subarray(i)])).toEqual(expected);
    }
  });

  it('replaces invalid UTF-8 rather than throwing', () => {
    const bytes = new Uint8Array([...encoder.encode('data: a'), 0xff, ...encoder.encode('\n\n')]);
    expect(decodeChunks([bytes])).toEqual([message('a\uFFFD')]);
  });

  it('returns events as soon as their blank line arrives', () => {
    const decoder = new SseDecoder();
    expect(decoder.push(encoder.encode('data: a\n'))).toEqual([]);
    expect(decoder.push(encoder.encode('\ndata: b\n\ndata: c'))).toEqual([message('a'), message('b')]);
  });

  it('decodes a long line delivered in tiny chunks in linear time', () => {
    const payload = 'x'.repeat(500_000);
    const bytes = encoder.encode(`data: ${payload}\n\n`);
    const started = performance.now();
    const events = decodeChunks(oneByteChunks(bytes));
    expect(events).toEqual([message(payload)]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('SseDecoder memory guard', () => {
  it('throws SseTooLargeError for an unterminated line past the limit', () => {
    const decoder = new SseDecoder({ maxEventBytes: 64 });
    expect(decoder.push(encoder.encode(`data: ${'x'.repeat(50)}`))).toEqual([]);
    expect(() => decoder.push(encoder.encode('x'.repeat(20)))).toThrow(SseTooLargeError);
  });

  it('throws for an event whose data lines add up past the limit', () => {
    const decoder = new SseDecoder({ maxEventBytes: 64 });
    const line = `data: ${'x'.repeat(20)}\n`;
    expect(() => decoder.push(encoder.encode(line.repeat(4)))).toThrow(SseTooLargeError);
  });

  it('counts bytes, not UTF-16 units', () => {
    const decoder = new SseDecoder({ maxEventBytes: 64 });
    // 20 CJK characters are 20 UTF-16 units but 60 UTF-8 bytes.
    expect(() => decoder.push(encoder.encode(`data: ${'中'.repeat(22)}`))).toThrow(SseTooLargeError);
  });

  it('does not limit a stream of many small events', () => {
    const decoder = new SseDecoder({ maxEventBytes: 64 });
    const events = decoder.push(encoder.encode('data: 0123456789\n\n'.repeat(1000)));
    expect(events).toHaveLength(1000);
  });

  it('uses a 1 MiB default', () => {
    const decoder = new SseDecoder();
    expect(decoder.push(encoder.encode(`data: ${'x'.repeat(1024 * 1024 - 100)}\n\n`))).toHaveLength(1);
    expect(() => decoder.push(encoder.encode(`data: ${'x'.repeat(1024 * 1024 + 1)}`))).toThrow(SseTooLargeError);
  });
});
