import { afterEach, describe, expect, it, vi } from 'vitest';
import { eventFrame } from '../testing/fake-upstream/bedrock-frames.js';
import { UpstreamProtocolError } from '../providers/types.js';
import { AwsEventStreamDecoder, maxFrameBytes, NdjsonDecoder, type EventDecoder } from './framing.js';
import type { SseEvent } from './sse-event.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const piece = 4096;

/** Feeds `body` in `size`-byte pieces; returns the events. */
function feed(decoder: EventDecoder, body: Uint8Array, size: number): SseEvent[] {
  const events: SseEvent[] = [];
  for (let at = 0; at < body.length; at += size) events.push(...decoder.push(body.subarray(at, at + size)));
  events.push(...decoder.end());
  return events;
}

describe('NdjsonDecoder (Ollama)', () => {
  it('decodes the same lines wherever the body is split (CRLF, blank lines, multi-byte UTF-8, no final newline)', () => {
    const body = new TextEncoder().encode('{"a":"é"}\r\n\n{"b":"漢字"}\n  \n{"c":3}');
    const expected = ['{"a":"é"}', '{"b":"漢字"}', '{"c":3}'];
    for (let at = 0; at <= body.length; at++) {
      const decoder = new NdjsonDecoder();
      const events = [...decoder.push(body.subarray(0, at)), ...decoder.push(body.subarray(at)), ...decoder.end()];
      expect(events.map((e) => e.data)).toEqual(expected);
    }
  });

  it('scans each byte once: a 7 MiB line in 4 KB reads is not rescanned on every read (issue 9 §2)', () => {
    const line = `{"message":{"content":"${'x'.repeat(7 * 1024 * 1024)}"}}`;
    const body = new TextEncoder().encode(`${line}\n{"done":true}\n`);
    // indexOf over the text buffered so far, on every read, was what made main quadratic.
    let scanned = 0;
    const indexOf = String.prototype.indexOf;
    vi.spyOn(String.prototype, 'indexOf').mockImplementation(function (this: string, search: string, from?: number) {
      scanned += this.length - (from ?? 0);
      return indexOf.call(this, search, from);
    });
    const events = feed(new NdjsonDecoder(), body, piece);
    vi.restoreAllMocks();
    expect(events.map((e) => e.data.length)).toEqual([line.length, '{"done":true}'.length]);
    expect(scanned).toBeLessThan(2 * body.length);
  });

  it(`fails a line longer than ${maxFrameBytes} bytes as an upstream protocol error, before buffering all of it`, () => {
    const decoder = new NdjsonDecoder();
    const read = new Uint8Array(piece).fill(0x78);
    let fed = 0;
    const feedUntilThrow = (): void => {
      for (;;) {
        decoder.push(read);
        fed += read.length;
      }
    };
    expect(feedUntilThrow).toThrow(UpstreamProtocolError);
    expect(fed).toBeLessThanOrEqual(maxFrameBytes);
  });
});

describe('AwsEventStreamDecoder (Bedrock)', () => {
  it('copies each byte at most once: a 7 MiB message in 4 KB reads is not re-concatenated on every read (issue 9 §2)', () => {
    const frame = eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'x'.repeat(7 * 1024 * 1024) } });
    const small = eventFrame('messageStop', { stopReason: 'end_turn' });
    const body = new Uint8Array(frame.length + small.length);
    body.set(frame, 0);
    body.set(small, frame.length);
    let copied = 0;
    const set = Uint8Array.prototype.set;
    vi.spyOn(Uint8Array.prototype, 'set').mockImplementation(function (this: Uint8Array, array: ArrayLike<number>, offset?: number) {
      copied += array.length;
      return set.call(this, array, offset);
    });
    const events = feed(new AwsEventStreamDecoder(), body, piece);
    vi.restoreAllMocks();
    expect(events.map((e) => e.event)).toEqual(['contentBlockDelta', 'messageStop']);
    // Main copied everything buffered so far on every read: ≈ 6 GB here.
    expect(copied).toBeLessThan(2 * body.length);
  });

  it(`fails a message announcing more than ${maxFrameBytes} bytes at its prelude, before buffering it`, () => {
    const decoder = new AwsEventStreamDecoder();
    const prelude = new Uint8Array(12);
    new DataView(prelude.buffer).setUint32(0, maxFrameBytes + 1);
    expect(() => decoder.push(prelude)).toThrow(UpstreamProtocolError);
    const atLimit = new Uint8Array(12);
    new DataView(atLimit.buffer).setUint32(0, maxFrameBytes);
    expect(new AwsEventStreamDecoder().push(atLimit)).toEqual([]);
  });

  it('decodes the same events when every message is split at every offset', () => {
    const frames = [eventFrame('messageStart', { role: 'assistant' }), eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'héllo' } }), eventFrame('messageStop', {})];
    const body = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      body.set(f, at);
      at += f.length;
    }
    const expected = feed(new AwsEventStreamDecoder(), body, body.length);
    expect(expected.map((e) => e.event)).toEqual(['messageStart', 'contentBlockDelta', 'messageStop']);
    for (let a = 1; a < body.length; a++) {
      for (const b of [a + 1, a + 3, body.length]) {
        const decoder = new AwsEventStreamDecoder();
        const events = [...decoder.push(body.subarray(0, a)), ...decoder.push(body.subarray(a, b)), ...decoder.push(body.subarray(b)), ...decoder.end()];
        expect(events).toEqual(expected);
      }
    }
  });
});
