// Live requests beside a running batch on the embedded database: a live chat request's p50
// before the batch and while it runs, the batch's duration and the event-loop delay meanwhile
// (needs `npm run build`):
//   node bench/micro/batch-beside-live.mjs [log|nolog] [items]
// `nolog` turns the request log off, to tell the runner's own queries from the log's flushes.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createGateway } from '../../dist/app.js';
import { resolveConfig } from '../../dist/config/load.js';
import { FakeUpstream } from '../../dist/testing/fake-upstream/fake-upstream.js';

const logOn = process.argv[2] !== 'nolog';
const items = Number(process.argv[3] ?? 200);
const up = await FakeUpstream.start({ dialect: 'openai', name: 'fast', behaviour: { latencyMs: 15 } });
const config = resolveConfig({
  deployments: { fast: { provider: 'openai', baseUrl: up.baseUrl } },
  models: { m: { targets: [{ deployment: 'fast', model: 'up-m' }] } },
  tenants: { a: { keys: ['sk-aaaaaaaaaaaaaaaaaaaaaa'] }, b: { keys: ['sk-bbbbbbbbbbbbbbbbbbbbbb'] } },
  state: { database: { dataDir: ':memory:' } },
  requestLog: { enabled: logOn },
  logging: { level: 'error' },
}, {});
const gw = createGateway(config);
const { url } = await gw.listen({ host: '127.0.0.1', port: 0 });
const live = async () => { const t = performance.now(); const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-aaaaaaaaaaaaaaaaaaaaaa', 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) }); await r.text(); return performance.now() - t; };
const wave = async () => { const ms = []; for (let i = 0; i < 20; i++) ms.push(await live()); ms.sort((x, y) => x - y); return ms[10].toFixed(1); };
await wave();
const before = await wave();
const lines = Array.from({ length: items }, (_, i) => JSON.stringify({ custom_id: `c${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 8 } })).join('\n');
const form = new FormData(); form.set('purpose', 'batch'); form.set('file', new Blob([lines]), 'b.jsonl');
const h = monitorEventLoopDelay({ resolution: 5 }); h.enable();
const f = await (await fetch(`${url}/v1/files`, { method: 'POST', headers: { authorization: 'Bearer sk-bbbbbbbbbbbbbbbbbbbbbb' }, body: form })).json();
const b = await (await fetch(`${url}/v1/batches`, { method: 'POST', headers: { authorization: 'Bearer sk-bbbbbbbbbbbbbbbbbbbbbb', 'content-type': 'application/json' }, body: JSON.stringify({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' }) })).json();
const t0 = performance.now();
const during = await wave();
let st;
for (;;) { st = await (await fetch(`${url}/v1/batches/${b.id}`, { headers: { authorization: 'Bearer sk-bbbbbbbbbbbbbbbbbbbbbb' } })).json(); if (st.status === 'completed' || st.status === 'failed') break; await new Promise((r) => setTimeout(r, 50)); }
h.disable();
console.log(JSON.stringify({ logOn, items, before, during, batchMs: (performance.now() - t0).toFixed(0), status: st.status, counts: st.request_counts, loopP99: (h.percentile(99) / 1e6).toFixed(1), loopMax: (h.max / 1e6).toFixed(1) }));
await gw.close(); await up.close();
