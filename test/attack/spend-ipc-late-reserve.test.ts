/**
 * Attack on `serve --workers N` budgets (issue 12) with a busy primary: a worker's
 * `budget.reserve` that times out (the primary's event loop stalled past the RPC timeout) is
 * still granted by the primary when it gets to it. The worker has moved on (fail-open local share,
 * or 503 when closed) and will never settle it, so the primary holds the worst case for
 * `timeouts.totalMs + 60 s`: after a stall, a team's budget is full of reservations held for
 * nobody and its requests are refused with budget_exceeded although nothing was spent. The Redis
 * ledger releases such late grants at once (redis-budget-ledger.ts, docs/budgets.md); IPC did not.
 */
import { describe, expect, it } from 'vitest';
import { budgetHandlers, IpcBudgetLedger } from '../../src/cluster/ipc-budgets.js';
import { RpcClient, serveRpc, type RpcHandlers } from '../../src/cluster/rpc.js';
import { windowOf } from '../../src/spend/budget.js';
import { MemoryBudgetLedger } from '../../src/spend/memory-budget-ledger.js';
import { StateUnavailableError } from '../../src/state/state-errors.js';
import { channelPair } from '../../src/testing/ipc-channel-pair.js';

describe('attack: a budget reservation granted after the worker stopped waiting', () => {
  // Failed before the fix: the late grant stayed reserved until its hold expired.
  it('is given back at once, not held for nobody until it expires', async () => {
    const [worker, primary] = channelPair();
    const books = new MemoryBudgetLedger();
    const handlers = budgetHandlers(books);
    // A primary whose answers to reserves arrive 100 ms late (a busy machine), after the worker's
    // 30 ms timeout. It handles messages in the order they came, as a real one does.
    const slow: RpcHandlers = {
      ...handlers,
      'budget.reserve': async (params) => {
        const granted = await handlers['budget.reserve']!(params);
        await new Promise((r) => setTimeout(r, 100));
        return granted;
      },
    };
    serveRpc(primary, slow);
    const ledger = new IpcBudgetLedger(new RpcClient(worker, 30));
    const rule = { scope: 'team:t', period: 'daily' as const, limitPico: 1_000n };
    await expect(ledger.reserve({ id: 'late-1', team: 't', rules: [rule], amountPico: 600, holdMs: 600_000, failureMode: 'open' })).rejects.toBeInstanceOf(StateUnavailableError);
    await new Promise((r) => setTimeout(r, 250));
    const counters = await books.counters('t', 'team:t', windowOf('daily', Date.now()));
    expect(counters.reservedPico).toBe(0n);
    expect(counters.spentPico).toBe(0n);
    // The budget has its whole room again for the next request.
    const next = await new IpcBudgetLedger(new RpcClient(worker, 2_000)).reserve({ id: 'next', team: 't', rules: [rule], amountPico: 600, holdMs: 600_000, failureMode: 'open' });
    expect(next.allowed).toBe(true);
  });
});
