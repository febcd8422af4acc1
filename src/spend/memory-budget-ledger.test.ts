import { describeBudgetLedgerContract } from './budget-ledger-contract.js';
import { MemoryBudgetLedger } from './memory-budget-ledger.js';

describeBudgetLedgerContract('MemoryBudgetLedger (BudgetLedger contract)', (clock) => new MemoryBudgetLedger(clock));
