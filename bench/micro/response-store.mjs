// Stored responses (/v1/responses): save time and the time to expand a previous_response_id at
// turns 10, 100 and 500 of one conversation (about 1 KB a turn), on the memory store and on the
// embedded database (PGlite); on a PostgreSQL server too when RESPONSES_BENCH_DB_URL names an
// empty database of yours (it is migrated: never point it at a database other tests use).
// Needs `npm run build`:
//   node bench/micro/response-store.mjs
import { openStore } from '../../dist/control/store/open-store.js';
import { MemoryResponseStore } from '../../dist/responses/memory-store.js';
import { SqlResponseStore } from '../../dist/responses/sql-store.js';

const TURNS = 500;
const limits = { maxTurns: 2048, maxItems: 4096, maxBytes: 64 * 1048576 };
const wallMs = () => Date.now();
const text = 'lorem ipsum dolor sit amet '.repeat(18);

function turn(i, previous, chain) {
  const id = `resp_bench_${String(i).padStart(6, '0')}`;
  const response = { id, object: 'response', created_at: 0, status: 'completed', model: 'm', output: [{ type: 'message', id: `msg_out_${i}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] }] };
  return { id, team: 't', createdBy: 'k', model: 'm', previousResponseId: previous, inputItems: [{ type: 'message', id: `msg_in_${i}`, role: 'user', content: [{ type: 'input_text', text }] }], response, chain };
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function measure(name, store) {
  const saves = [];
  const loads = {};
  let previous;
  let chain;
  for (let i = 1; i <= TURNS; i++) {
    const t = turn(i, previous, chain);
    const t0 = performance.now();
    await store.save(t);
    saves.push(performance.now() - t0);
    if ([10, 100, 500].includes(i)) {
      const l0 = performance.now();
      const loaded = await store.conversation('t', t.id, limits);
      loads[i] = performance.now() - l0;
      if (loaded.kind !== 'found' || loaded.items.length !== 2 * i) throw new Error(`${name}: turn ${i} loaded ${loaded.kind}`);
    }
    const loaded = i < TURNS ? await store.conversation('t', t.id, limits) : undefined;
    chain = loaded?.size;
    previous = t.id;
  }
  const ms = (x) => x.toFixed(2);
  console.log(`${name}: save p50 ${ms(pct(saves, 50))} ms, p99 ${ms(pct(saves, 99))} ms; expand at turn 10 / 100 / 500: ${ms(loads[10])} / ${ms(loads[100])} / ${ms(loads[500])} ms`);
}

await measure('memory', new MemoryResponseStore({ retentionDays: 30, maxResponses: 10_000, maxBytes: 256 * 1048576, wallMs }));
const settings = { dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 10_000 };
for (const [name, extra] of [['PGlite', {}], ...(process.env.RESPONSES_BENCH_DB_URL ? [['PostgreSQL', { url: process.env.RESPONSES_BENCH_DB_URL }]] : [])]) {
  const { store } = await openStore({ ...settings, ...extra }, () => undefined);
  await measure(name, new SqlResponseStore({ db: () => store.db, retentionDays: 30, wallMs }));
  await store.close();
}
