/**
 * The priced two-alias setup the budget tests share. The fake answers "ok done" (2 completion
 * tokens) to a "count me" prompt (5 prompt tokens), so each request's cost is known:
 * `dear` is 5 × $200/M + 2 × $300/M = $0.0016 a request, `cheap` 5 × $1/M + 2 × $2/M = $0.000009.
 */
import type { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import { chatBody, deploymentFor, type Harness } from './harness.js';

export const countMe = (model: string, extra: Record<string, unknown> = {}) => chatBody(model, { max_tokens: 2, messages: [{ role: 'user', content: 'count me' }], ...extra });

/** The fake every budget test uses: "ok done" to everything. */
export const okDoneFake = { dialect: 'openai', behaviour: { reply: 'ok done' } } as const;

/** `dear` (falling back to `cheap` past a soft limit when `overBudget` is set) and `cheap`, both on one fake. */
export function dearAndCheap(fake: FakeUpstream, options: { overBudget?: boolean } = {}) {
  return {
    deployments: { fake: deploymentFor(fake) },
    models: {
      dear: { targets: [{ deployment: 'fake', model: 'up-dear', price: { input: 200, output: 300 } }], ...(options.overBudget ? { overBudget: 'cheap' } : {}) },
      cheap: { targets: [{ deployment: 'fake', model: 'up-cheap', price: { input: 1, output: 2 } }] },
    },
  };
}

/** The model names the fake was asked for, in order. */
export const upstreamModels = (g: Harness) => g.fakes[0]!.received.map((r) => (r.body as { model?: string }).model);

/** One team (key `key`) with `budgets` on `dear`, its request log in `dataDir`: what a restart reads spend back from. */
export function teamWithLoggedSpend(fake: FakeUpstream, key: string, dataDir: string, budgets: unknown[]) {
  return {
    ...dearAndCheap(fake),
    tenants: { team: { keys: [key], budgets } },
    state: { database: { dataDir } },
    requestLog: { flushMs: 100 },
  };
}
