// Replays a workload (workload.mjs) through a gateway, open loop: each request is sent at its
// arrival time whatever the earlier ones are doing, streamed, and timed from that scheduled
// time (so a queue cannot hide by slowing the client down). Bounded: whatever is unfinished at
// `cutoffMs` after the start is aborted and recorded as status 0, error `cutoff`.
//
//   node replay.mjs '<json spec>'   → one JSON line: { rows, lateMs }; a row's fields are
//   report.mjs's `rowFields`, in order
// spec: { url, workloadFile, model, keys: [per tenant], cutoffMs, connections }
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { requestBody, sloHeaders } from './workload.mjs';

const spec = JSON.parse(process.argv[2]);
const workload = JSON.parse(readFileSync(spec.workloadFile, 'utf8'));
const pool = new Pool(spec.url, { connections: spec.connections ?? 1024, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
const cutoff = new AbortController();
const rows = new Array(workload.requests.length);
let finished = 0;
let lateMs = 0;

/** Reads one SSE stream: the time of the first content token, and the final usage chunk. */
async function readStream(body, scheduled) {
  let buffer = '';
  let ttftMs = null;
  let usage = null;
  for await (const chunk of body) {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith('data:') || line === 'data: [DONE]') continue;
      const event = JSON.parse(line.slice(5));
      if (ttftMs === null && event.choices?.[0]?.delta?.content) ttftMs = performance.now() - scheduled;
      if (event.usage) usage = event.usage;
    }
    // A line is one SSE event; a server's line is bounded, so is this buffer (guard anyway).
    if (buffer.length > 1_000_000) throw new Error('SSE line over 1 MB');
  }
  return { ttftMs, usage };
}

async function one(request, scheduled) {
  const headers = {
    'content-type': 'application/json',
    authorization: `Bearer ${spec.keys[request.tenant]}`,
    ...sloHeaders(request),
  };
  let row;
  try {
    const res = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers, body: requestBody(workload, request, spec.model), signal: cutoff.signal });
    const deployment = res.headers['x-gateway-provider'] ?? null;
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      let code = `http_${res.statusCode}`;
      try {
        code = JSON.parse(text).error?.code ?? code;
      } catch {
        // not JSON: keep the status
      }
      row = [request.id, res.statusCode, null, performance.now() - scheduled, 0, deployment, null, code];
    } else {
      res.body.setEncoding('utf8');
      const { ttftMs, usage } = await readStream(res.body, scheduled);
      const e2eMs = performance.now() - scheduled;
      const cost = usage?.cost_usd === undefined ? null : Number(usage.cost_usd);
      row = [request.id, 200, ttftMs, e2eMs, usage?.completion_tokens ?? 0, deployment, cost, ttftMs === null ? 'no_content' : null];
    }
  } catch (err) {
    row = [request.id, 0, null, performance.now() - scheduled, 0, null, null, cutoff.signal.aborted ? 'cutoff' : String(err?.code ?? err?.name ?? 'error')];
  }
  // Times to 0.1 ms (the file stays small); the cost is kept exact.
  for (const i of [2, 3]) if (row[i] !== null) row[i] = Math.round(row[i] * 10) / 10;
  rows[request.id] = row;
  finished++;
}

const t0 = performance.now() + 50;
const cutoffTimer = setTimeout(() => cutoff.abort(), spec.cutoffMs + 50);
let next = 0;
await new Promise((resolve) => {
  const tick = () => {
    const now = performance.now();
    while (next < workload.requests.length && t0 + workload.requests[next].atMs <= now) {
      const request = workload.requests[next];
      const scheduled = t0 + request.atMs;
      lateMs = Math.max(lateMs, now - scheduled);
      void one(request, scheduled);
      next++;
    }
    if (next >= workload.requests.length) resolve();
    else setTimeout(tick, Math.max(1, Math.min(50, t0 + workload.requests[next].atMs - now)));
  };
  setTimeout(tick, 50);
});
// Every request ends by itself or at the cutoff (which aborts them); this wait is bounded by it.
while (finished < workload.requests.length) await new Promise((r) => setTimeout(r, 20));
clearTimeout(cutoffTimer);
process.stdout.write(`${JSON.stringify({ rows, lateMs: Math.round(lateMs) })}\n`);
await pool.destroy().catch(() => undefined);
process.exit(0);
