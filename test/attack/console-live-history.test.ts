/**
 * Attack on the live console's history, over real sockets: with 50 models and 50 deployments
 * busy every second the five-minute history is ~4 MB of JSON. Opening a stream re-serialized
 * all of it (`JSON.stringify` of 300 tick objects, ~30 ms of blocked event loop each time, for
 * every console tab that opened or reconnected), and the ticks were kept as objects (twice the
 * heap of their JSON). Now each tick is serialized once when it closes; an open joins strings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveHub } from '../../src/admin/live-hub.js';
import { HISTORY_TICKS, LiveAggregator } from '../../src/observability/live/live-aggregator.js';
import type { AttemptEvent, RequestFinishedEvent } from '../../src/observability/events.js';
import { openStream, type OpenStream } from '../helpers/admin.js';
import { serveLiveHub, type LiveHubServer } from '../helpers/live-hub-server.js';

const aggregator = new LiveAggregator({ clock: { nowMs: () => performance.now(), wallMs: () => Date.now() } });
const hub = new LiveHub(aggregator, { maxStreams: 16, maxBufferedBytes: 1024 * 1024, pingMs: 15_000 });
let served: LiveHubServer | undefined;

/** One busy second: 50 aliases and 50 deployments with traffic. */
function busySecond(t: number): void {
  for (let m = 0; m < 50; m++) {
    aggregator.requestFinished({ requestId: 'r', route: '/v1/chat/completions', operation: 'chat', model: `model-alias-name-${m}`, outcome: m % 3 ? 'success' : 'rate_limited', durationMs: 10 + m, timeToFirstTokenMs: 5 + m, usage: { promptTokens: 10, completionTokens: 20 }, costPico: 123_456_789 } as unknown as RequestFinishedEvent);
    aggregator.attemptFinished({ requestId: 'r', deployment: `deployment-name-${m}`, outcome: 'success', durationMs: 10 + m } as unknown as AttemptEvent);
  }
  aggregator.tick(t);
}

beforeAll(async () => {
  for (let t = 1; t <= HISTORY_TICKS; t++) busySecond(t * 1000);
  served = await serveLiveHub(hub);
});

afterAll(async () => {
  await served?.close();
});

describe('the history of a busy gateway', () => {
  it('is not serialized again for every stream that opens', async () => {
    const history = aggregator.history();
    expect(history).toHaveLength(HISTORY_TICKS);
    const historyBytes = JSON.stringify(history).length;
    expect(historyBytes).toBeGreaterThan(3_000_000);
    const stringify = JSON.stringify;
    let serialized = 0;
    JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => {
      const out = stringify(...args);
      serialized += out?.length ?? 0;
      return out;
    }) as typeof JSON.stringify;
    const open: OpenStream[] = [];
    try {
      for (let i = 0; i < 16; i++) {
        const s = await openStream(served!.url, '', null);
        open.push(s);
        expect(s.status).toBe(200);
      }
    } finally {
      JSON.stringify = stringify;
    }
    try {
      // Each stream still gets the whole history, byte for byte what the ticks were.
      const first = await open[0]!.next((e) => e.event === 'history');
      const got = JSON.parse(first.data!) as { intervalMs: number; ticks: unknown[] };
      expect(got.intervalMs).toBe(1000);
      expect(got.ticks).toEqual(history);
      // 16 opens: before, 16 x ~4 MB serialized on the event loop; now nothing.
      expect(serialized).toBeLessThan(historyBytes);
    } finally {
      for (const s of open) s.close();
    }
  }, 60_000);
});
