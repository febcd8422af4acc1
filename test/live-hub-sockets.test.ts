/**
 * The live hub's bound on a client that stops reading, over a real socket: its stream is dropped
 * once more than `maxBufferedBytes` wait unsent, while a client that reads keeps its stream. The
 * hub runs on a plain HTTP server here so the bound can be small (the gateway's is 1 MiB).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveHub } from '../src/admin/live-hub.js';
import { LiveAggregator } from '../src/observability/live/live-aggregator.js';
import type { RequestFinishedEvent } from '../src/observability/events.js';
import { openStream } from './helpers/admin.js';
import { serveLiveHub, type LiveHubServer } from './helpers/live-hub-server.js';

const aggregator = new LiveAggregator({ clock: { nowMs: () => performance.now(), wallMs: () => Date.now() } });
const hub = new LiveHub(aggregator, { maxStreams: 4, maxBufferedBytes: 256 * 1024, pingMs: 15_000 });
let served: LiveHubServer | undefined;

beforeAll(async () => {
  served = await serveLiveHub(hub);
});

afterAll(async () => {
  await served?.close();
});

/** A tick of 50 models: about 9 KB on the wire. */
function busySecond(t: number): void {
  for (let m = 0; m < 50; m++) aggregator.requestFinished({ requestId: 'r', route: '/v1/chat/completions', operation: 'chat', model: `model-with-a-long-configured-name-${m}`, outcome: 'success', durationMs: 10 + m, usage: undefined } as unknown as RequestFinishedEvent);
  aggregator.tick(t);
}

describe('a live client that stops reading', () => {
  it('is dropped once its socket holds more than the bound; a reading client is not', async () => {
    const reader = await openStream(served!.url, '', null);
    const stalled = await openStream(served!.url, '', null, { read: false });
    expect([reader.status, stalled.status]).toEqual([200, 200]);
    expect(hub.size).toBe(2);
    let dropped = false;
    void stalled.ended.then(() => (dropped = true));
    // Loopback buffers take a few MB before the server's own buffer grows: write until the bound bites.
    // Two ticks (~18 KB, far under the bound) between two turns of the event loop, in which the reading client reads.
    for (let i = 0; i < 5_000 && hub.size === 2; i++) {
      for (let k = 0; k < 2; k++) busySecond(1_000 * (2 * i + k + 1));
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(hub.size).toBe(1);
    // The client sees the cut once it reads what was already sent.
    stalled.resume();
    await Promise.race([stalled.ended, new Promise((r) => setTimeout(r, 5_000))]);
    expect(dropped).toBe(true);
    const before = reader.events.length;
    busySecond(Date.now());
    const until = Date.now() + 5_000;
    while (reader.events.length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(reader.events.length).toBeGreaterThan(before);
    reader.close();
  }, 30_000);
});

describe('heartbeats and the end of the stream', () => {
  it('sends retry, the history, ticks and `: ping` comments, and ends every stream on closeAll (the drain)', async () => {
    const agg = new LiveAggregator({ clock: { nowMs: () => performance.now(), wallMs: () => Date.now() } });
    agg.tick(1_000);
    const pinging = new LiveHub(agg, { maxStreams: 2, maxBufferedBytes: 1024 * 1024, pingMs: 0 });
    const srv = createServer((_req, res) => {
      try {
        pinging.open(res, async () => true);
      } catch {
        res.writeHead(503).end();
      }
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const at = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const s = await openStream(at, '', null);
      expect((await s.next(() => true)).retry).toBe('2000');
      const history = JSON.parse((await s.next((e) => e.event === 'history')).data!);
      expect(history).toMatchObject({ intervalMs: 1000, ticks: [{ t: 1_000, requests: 0 }] });
      agg.tick(2_000);
      expect(JSON.parse((await s.next((e) => e.event === 'tick')).data!).t).toBe(2_000);
      expect((await s.next((e) => e.comment !== undefined)).comment).toBe('ping');
      pinging.closeAll();
      await s.ended;
      expect(pinging.size).toBe(0);
      expect((await openStream(at, '', null)).status).toBe(503);
    } finally {
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });
});

describe('a credential re-check that never answers', () => {
  it('ends the stream once it has waited past its deadline: a hung check cannot keep a revoked caller watching', async () => {
    const slowHub = new LiveHub(aggregator, { maxStreams: 4, maxBufferedBytes: 256 * 1024, pingMs: 15_000, recheckDeadlineMs: 200 });
    const hung = await serveLiveHub(slowHub, () => new Promise<boolean>(() => undefined));
    try {
      const stream = await openStream(hung.url, '', null);
      expect(stream.status).toBe(200);
      let ended = false;
      void stream.ended.then(() => (ended = true));
      // A tick a little apart: the first starts the check, a later one finds it past its deadline.
      for (let i = 0; i < 100 && !ended; i++) {
        busySecond(Date.now() + i * 1_000);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(ended).toBe(true);
      expect(slowHub.size).toBe(0);
    } finally {
      await hung.close();
    }
  }, 30_000);
});
