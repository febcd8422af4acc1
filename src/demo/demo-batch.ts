import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { adminCall } from './demo-admin.js';
import { sendDemoCall, type DemoCall } from './demo-client.js';
import { budgetTeam, demoTenants } from './demo-config.js';
import { out } from './demo-output.js';

/** A small batch finishes in well under a second here; a busy CI machine gets this long. */
const BATCH_DEADLINE_MS = 30_000;
const ITEMS = 24;

/**
 * The Batch API beside live traffic: team-b uploads a file of chat requests (one asks for a model
 * team-b may not use, so it can never succeed), creates a batch, and while it runs team-a's live
 * requests are served first (batch items wait at low priority). Then the output and error files,
 * and the item that failed on the admin API's dead-letter list.
 */
export async function runBatchDemo(url: string, adminKey: string, firstCall: number): Promise<void> {
  const [a, b] = demoTenants;
  out(`Batch API: ${b.name} uploads ${ITEMS} chat requests as a batch; ${a.name}'s live requests go on beside it`);
  const lines = Array.from({ length: ITEMS }, (_, i) =>
    JSON.stringify({
      custom_id: `item-${i + 1}`,
      method: 'POST',
      url: '/v1/chat/completions',
      // Item 7 names a model team-b may not use: it fails with 403 and is dead-lettered.
      body: { model: i === 6 ? 'gpt-stable' : 'gpt-mini', messages: [{ role: 'user', content: `Batch item ${i + 1}: summarise` }], max_tokens: 16 },
    }),
  );
  const before = await liveWave(url, firstCall);
  const form = new FormData();
  form.set('purpose', 'batch');
  form.set('file', new Blob([`${lines.join('\n')}\n`], { type: 'application/jsonl' }), 'demo-batch.jsonl');
  const file = await call(url, b.key, 'POST', '/v1/files', 200, form);
  out(`  POST   /v1/files                200  ${file.id}: ${file.bytes} bytes, purpose ${file.purpose}`);
  const created = await call(url, b.key, 'POST', '/v1/batches', 200, { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  out(`  POST   /v1/batches              200  ${created.id}: ${created.status}`);

  // Live traffic while the batch runs: these are not queued behind its items.
  const during = await liveWave(url, firstCall + 6);
  out(`  ${a.name}'s live requests beside it: ${during.served}/${during.sent} served, median ${during.medianMs} ms (${before.medianMs} ms just before the batch)`);

  let batch = created;
  const deadline = Date.now() + BATCH_DEADLINE_MS;
  while (!['completed', 'failed', 'expired', 'cancelled'].includes(batch.status) && Date.now() < deadline) {
    await sleep(100);
    batch = await call(url, b.key, 'GET', `/v1/batches/${created.id}`, 200);
  }
  const counts = batch.request_counts;
  out(`  GET    /v1/batches/${batch.id}  200  ${batch.status}: ${counts.completed} completed, ${counts.failed} failed of ${counts.total}`);
  if (batch.output_file_id) {
    const text = await content(url, b.key, batch.output_file_id);
    const first = JSON.parse(text.split('\n')[0] ?? '{}');
    out(`  output file ${batch.output_file_id}: ${text.trim().split('\n').length} lines, e.g. ${first.custom_id} → ${first.response?.status_code} "${String(first.response?.body?.choices?.[0]?.message?.content ?? '').slice(0, 40)}"`);
  }
  if (batch.error_file_id) {
    const text = await content(url, b.key, batch.error_file_id);
    const first = JSON.parse(text.split('\n')[0] ?? '{}');
    out(`  error file  ${batch.error_file_id}: ${text.trim().split('\n').length} line(s), e.g. ${first.custom_id} → ${first.response?.status_code ?? first.error?.code} ${String(first.response?.body?.error?.code ?? first.error?.message ?? '')}`);
  }
  const dead = await adminCall(url, adminKey, 'GET', `/dead-letters?batch=${batch.id}`, 200);
  const entries = dead.body.data as Array<{ customId: string }>;
  out(`  GET    /admin/v1/dead-letters   200  ${entries.length} item(s): ${entries.map((e) => e.customId).join(', ')} (an admin may replay or drop them)\n`);
}

/**
 * Six of team-a's live requests at once (half streamed) to an alias served by fast-vllm alone,
 * which the batch's items use too: how many were served, and the median time.
 */
async function liveWave(url: string, firstCall: number): Promise<{ sent: number; served: number; medianMs: number }> {
  const [a] = demoTenants;
  const calls: DemoCall[] = Array.from({ length: 6 }, (_, i) => ({ n: firstCall + i, tenant: a.name, key: a.key, model: budgetTeam.model, stream: i % 2 === 0 }));
  const results = await Promise.all(calls.map((c) => sendDemoCall(url, c)));
  const ms = results.map((r) => r.ms).sort((x, y) => x - y);
  return { sent: calls.length, served: results.filter((r) => r.status === 200).length, medianMs: Math.round(ms[Math.floor(ms.length / 2)] ?? 0) };
}

/** One data-plane call as the team's client would make it; an unexpected status stops the demo. */
async function call(url: string, key: string, method: 'GET' | 'POST', path: string, expected: number, body?: unknown): Promise<any> {
  const isForm = body instanceof FormData;
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined || isForm ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: isForm ? body : JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${method} ${path} answered ${res.status}, not ${expected}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

async function content(url: string, key: string, fileId: string): Promise<string> {
  const res = await request(`${url}/v1/files/${fileId}/content`, { headers: { authorization: `Bearer ${key}` }, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET /v1/files/${fileId}/content answered ${res.statusCode}: ${text.slice(0, 500)}`);
  return text;
}
