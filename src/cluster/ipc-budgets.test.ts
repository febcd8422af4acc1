import { describe, expect, it } from 'vitest';
import { describeBudgetLedgerContract } from '../spend/budget-ledger-contract.js';
import { MemoryBudgetLedger } from '../spend/memory-budget-ledger.js';
import { StateUnavailableError } from '../state/state-errors.js';
import { channelPair } from '../testing/ipc-channel-pair.js';
import { budgetHandlers, IpcBudgetLedger } from './ipc-budgets.js';
import { RpcClient, serveRpc } from './rpc.js';

// The same books over a JSON channel as in one process: amounts beyond 2^53 included.
describeBudgetLedgerContract('IpcBudgetLedger (worker) over a MemoryBudgetLedger (primary)', (clock) => {
  const [worker, primary] = channelPair();
  const ledger = new MemoryBudgetLedger(clock);
  serveRpc(primary, budgetHandlers(ledger));
  return Object.assign(new IpcBudgetLedger(new RpcClient(worker, 2_000)), { counters: ledger.counters.bind(ledger) });
});

describe('IpcBudgetLedger', () => {
  it('rejects with StateUnavailableError (as an unavailable Redis) when the primary does not answer', async () => {
    const [worker] = channelPair();
    const ledger = new IpcBudgetLedger(new RpcClient(worker, 30));
    const reserve = ledger.reserve({ id: 'x', team: 't', rules: [{ scope: 'team:t', period: 'daily', limitPico: 10n }], amountPico: 1, holdMs: 1_000, failureMode: 'open' });
    await expect(reserve).rejects.toBeInstanceOf(StateUnavailableError);
  });
});
