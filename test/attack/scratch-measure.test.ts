import { it } from 'vitest';
import type { ResponseItem, ResponseObject } from '../../src/api/responses-types.js';
import { openStore } from '../../src/control/store/open-store.js';
import { SqlResponseStore } from '../../src/responses/sql-store.js';
import type { ChainSize } from '../../src/responses/response-store.js';

async function maxBlockMs<T>(work: () => Promise<T>): Promise<{ ms: number; value: T; total: number }> {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => { const now = performance.now(); max = Math.max(max, now - last - 5); last = now; }, 5);
  const t0 = performance.now();
  try { const value = await work(); return { ms: max, value, total: performance.now() - t0 }; } finally { clearInterval(timer); }
}
const limits = { maxTurns: 2048, maxItems: 2048, maxBytes: 10 * 1024 * 1024 };
let wall = Date.now();
const user = (text: string): ResponseItem => ({ type: 'message', id: 'msg_' + Math.random().toString(16).slice(2), role: 'user', content: [{ type: 'input_text', text }] });
const resp = (id: string, output: ResponseItem[]): ResponseObject => ({ id, object: 'response', created_at: 1, status: 'completed', model: 'm', output } as ResponseObject);

it('pglite chain at caps', async () => {
  const { store: control } = await openStore({ dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2000, statementTimeoutMs: 5000 }, () => undefined);
  const db = control.db;
  const store = new SqlResponseStore({ db: () => db, retentionDays: 30, wallMs: () => wall });
  // 1024 turns of 1 in + 1 out each, ~5 KB per item => ~10 MB
  let prev: { id: string; chain: ChainSize } | undefined;
  const text = 'y'.repeat(4_900);
  let maxSave = 0;
  for (let i = 0; i < 1023; i++) {
    const id = `resp_${i}`;
    const turn = { id, team: 't', createdBy: 'k', model: 'm', previousResponseId: prev?.id, inputItems: [user(text)], response: resp(id, [user(text)]), chain: prev?.chain };
    const t0 = performance.now();
    await store.save(turn);
    maxSave = Math.max(maxSave, performance.now() - t0);
    const own = [...turn.inputItems, ...turn.response.output];
    prev = { id, chain: { turns: (prev?.chain.turns ?? 0) + 1, items: (prev?.chain.items ?? 0) + 2, bytes: (prev?.chain.bytes ?? 0) + Buffer.byteLength(JSON.stringify(own)) } };
  }
  console.log('chain', prev!.chain, 'max save ms', maxSave.toFixed(1));
  for (let k = 0; k < 3; k++) {
    const r = await maxBlockMs(() => store.conversation('t', prev!.id, limits));
    console.log('conversation load: block ms', r.ms.toFixed(1), 'total', r.total.toFixed(1), r.value.kind);
  }
  // purge: expire everything
  for (let i = 0; i < 9000; i++) {
    const id = `resp_x${i}`;
    await store.save({ id, team: 't', createdBy: 'k', model: 'm', previousResponseId: undefined, inputItems: [user(text)], response: resp(id, [user(text)]), chain: undefined });
  }
  wall += 31 * 86_400_000;
  const r = await maxBlockMs(() => store.purgeExpired());
  console.log('purge of', r.value, 'rows: block ms', r.ms.toFixed(1), 'total', r.total.toFixed(1));
  await control.close();
}, 600_000);
