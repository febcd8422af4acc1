// CPU of one open console stream (GET /admin/v1/live) per tick, over a real loopback socket: the
// tick serialized and written, the credential re-check (here a stand-in that answers at once;
// an API key's is a SHA-256 and a map lookup), the reading client in the same process counted
// too (an upper bound). A tick is once a second, so µs per tick is µs per second of wall time
// (needs `npm run build` first):
//   taskset -c 1 node bench/micro/live-stream.mjs
import { createServer, request } from 'node:http';
import { LiveHub } from '../../dist/admin/live-hub.js';
import { LiveAggregator } from '../../dist/observability/live/live-aggregator.js';

const clock = { nowMs: () => performance.now(), wallMs: () => Date.now() };
const aggregator = new LiveAggregator({ clock });
const hub = new LiveHub(aggregator);
const server = createServer((_req, res) => hub.open(res, async () => true));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const { port } = server.address();

function busySecond(models, t) {
  for (let m = 0; m < models; m++) {
    aggregator.attemptFinished({ requestId: 'r', alias: `alias-${m}`, deployment: `deployment-${m % 10}`, outcome: 'success', status: 200, durationMs: 20 + m });
    aggregator.requestFinished({ requestId: 'r', operation: 'chat', model: `alias-${m}`, outcome: m % 9 ? 'success' : 'rate_limited', durationMs: 30 + m, timeToFirstTokenMs: 10 + m, usage: { promptTokens: 40, completionTokens: 20 }, costPico: 1_000_000 });
  }
  aggregator.tick(t);
}

for (const streams of [0, 1]) {
  const clients = [];
  for (let i = 0; i < streams; i++) {
    await new Promise((resolve) => {
      const req = request(`http://127.0.0.1:${port}/`, (res) => {
        res.on('data', () => undefined);
        clients.push(req);
        resolve();
      });
      req.end();
    });
  }
  for (const models of [5, 50]) {
    const TICKS = 2_000;
    // Half the time the loop yields so the socket drains, as it would over a second.
    const c0 = process.cpuUsage();
    for (let i = 0; i < TICKS; i++) {
      busySecond(models, i * 1000);
      await new Promise((r) => setImmediate(r));
    }
    const c = process.cpuUsage(c0);
    console.log(`${streams} stream(s), ${models} models a tick: ${((c.user + c.system) / TICKS).toFixed(1)} µs per tick (aggregating ${models} requests included)`);
  }
  for (const c of clients) c.destroy();
  await new Promise((r) => setTimeout(r, 100));
}
hub.closeAll();
server.close();
