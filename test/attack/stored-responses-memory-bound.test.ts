/**
 * Attack on issue 16 (stored responses without a control plane): the in-memory store is bounded
 * by `responses.memoryMaxBytes`, counted as the JSON bytes of what it keeps, but it kept object
 * graphs (structuredClone of the parsed items). A request of 2048 one-letter messages (≈ 250 KB of
 * JSON, well inside the body limit and the item cap) held 2.6–2.7 times its counted bytes in the
 * heap (3.3× without item ids, 21× for items of a few bytes); the cloning cost ~10 ms of event
 * loop per save, and a full store of such graphs costs every major GC a pass over millions of
 * small objects.
 *
 * FINDING (medium; fixed in memory-store.ts): measured before the fix, filling a store bounded
 * at 16 MiB with such responses used 42–44 MiB of heap; with the default 256 MiB bound that is
 * ≈ 700 MiB. Entries are now kept as their JSON text (counted at its size in the heap), so the
 * bound is what the heap holds: ≈ 1.1× here.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { parseResponsesRequest } from '../../src/api/parse-responses.js';
import type { ResponseObject } from '../../src/api/responses-types.js';
import { MemoryResponseStore } from '../../src/responses/memory-store.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('the in-memory store holds what its byte bound says', () => {
  it('a flood of 2048-item responses keeps the heap within 1.5× memoryMaxBytes', async () => {
    const maxBytes = 16 * 1024 * 1024;
    const store = new MemoryResponseStore({ retentionDays: 30, maxResponses: 10_000, maxBytes, wallMs: () => Date.now() });
    // What the pipeline stores: the parsed request's items (each given an id), one per message.
    const parsed = parseResponsesRequest({ model: 'm', input: Array.from({ length: 2048 }, () => ({ role: 'user', content: 'a' })) });
    const before = heapUsed();
    for (let r = 0; r < 100; r++) {
      const id = `resp_${r.toString(16).padStart(32, '0')}`;
      const response = { id, object: 'response', created_at: 1, status: 'completed', model: 'm', output: [{ type: 'message', id: `msg_${r}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }] } as unknown as ResponseObject;
      await store.save({ id, team: 't', createdBy: 'k', model: 'm', previousResponseId: undefined, inputItems: parsed.inputItems, response, chain: undefined });
    }
    const held = heapUsed() - before;
    expect(store.bytes).toBeLessThanOrEqual(maxBytes);
    // Full: evicting kept it near the bound.
    expect(store.bytes).toBeGreaterThan(maxBytes * 0.9);
    expect(held / maxBytes, `heap held ${(held / 2 ** 20).toFixed(1)} MiB for a 16 MiB bound`).toBeLessThan(1.5);
    // What was kept still reads back.
    const last = `resp_${(99).toString(16).padStart(32, '0')}`;
    expect((await store.inputItems('t', last))?.length).toBe(2048);
    await store.close();
  }, 20_000);
});
