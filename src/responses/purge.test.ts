import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryResponseStore } from './memory-store.js';
import { ResponsesPurge } from './purge.js';
import { DAY_MS } from './response-store.js';

describe('ResponsesPurge', () => {
  it('deletes expired responses; a failing run is logged, never thrown', async () => {
    let wall = 1_800_000_000_000;
    const store = new MemoryResponseStore({ retentionDays: 1, maxResponses: 100, maxBytes: 1_000_000, wallMs: () => wall });
    await store.save({ id: 'resp_1', team: 't', createdBy: 'k', model: 'm', previousResponseId: undefined, inputItems: [], response: { id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'm', output: [] }, chain: undefined });
    const purge = new ResponsesPurge({ store, logger: pino({ level: 'silent' }) });
    await purge.run();
    expect(store.size).toBe(1);
    wall += DAY_MS;
    await purge.run();
    expect(store.size).toBe(0);
    const lines: string[] = [];
    const failing = new ResponsesPurge({ store: { ...store, kind: 'memory', purgeExpired: () => Promise.reject(new Error('database gone')) } as unknown as MemoryResponseStore, logger: pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }) });
    await expect(failing.run()).resolves.toBeUndefined();
    expect(lines.join('')).toMatch(/deleting expired responses failed/);
    await failing.close();
    await purge.close();
  });
});
