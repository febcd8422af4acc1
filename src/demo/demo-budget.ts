import { sendDemoCall, type DemoResult } from './demo-client.js';
import { budgetPrompt, budgetTeam } from './demo-config.js';
import { formatResult, out } from './demo-output.js';
import type { BudgetHookReceiver, SoftLimitAlert } from './demo-webhook.js';

/** team-e's budget is reached in about six calls; more than this means the hard stop never came. */
const MAX_CALLS = 12;
/** How long the alert may take to arrive after the last call (it is sent by a background loop). */
const ALERT_DEADLINE_MS = 10_000;

/** The webhook receiver's line for an alert, printed as it arrives. */
export function formatAlert(a: SoftLimitAlert): string {
  const hard = a.limit_usd === null ? '' : `, hard limit $${a.limit_usd}`;
  const resets = a.window_end === null ? '' : `, resets ${a.window_end}`;
  return `  webhook  ${a.type} for ${a.scope} (${a.period}): spent $${a.spent_usd}, soft limit $${a.soft_limit_usd}${hard}${resets}`;
}

/**
 * team-e spends its daily budget one call at a time, so each call's cost has settled before the
 * next is admitted: the alert comes when a settle crosses the soft limit, and the hard stop when
 * the next call's worst case no longer fits under the limit. Returns the calls, the stop included.
 */
export async function spendBudget(url: string, receiver: BudgetHookReceiver, firstN: number): Promise<DemoResult[]> {
  const b = budgetTeam.budget;
  out(`Budget: ${budgetTeam.name} spends its $${b.limitUsd} a day, one call at a time, each summarising a ~1,500-token report`);
  out(`  the soft-limit alert ($${b.softLimitUsd}) is POSTed to the demo's webhook receiver at ${receiver.url}`);
  const results: DemoResult[] = [];
  for (let i = 0; i < MAX_CALLS; i++) {
    const n = firstN + i;
    const r = await sendDemoCall(url, { n, tenant: budgetTeam.name, key: budgetTeam.key, model: budgetTeam.model, stream: i % 2 === 1, prompt: `Request ${n}: ${budgetPrompt}`, maxTokens: budgetTeam.maxTokens });
    results.push(r);
    out(formatResult(r));
    if (r.status !== 200) break;
  }
  const alert = await receiver.waitFor(`team:${budgetTeam.name}`, ALERT_DEADLINE_MS);
  if (!alert) out(`  no soft-limit alert arrived within ${ALERT_DEADLINE_MS / 1000} s`);
  const last = results.at(-1);
  if (last?.status === 429 && last.errorCode === 'budget_exceeded') {
    out(`  hard stop: ${last.status} budget_exceeded (x-should-retry: ${last.shouldRetry ?? '?'}${last.retryAfter ? `, Retry-After ${last.retryAfter}s` : ''})`);
    out(`    "${last.text}"`);
  } else {
    out(`  no hard stop after ${results.length} calls (the last answered ${last?.status} ${last?.errorCode ?? ''})`);
  }
  out();
  return results;
}
