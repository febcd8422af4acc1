/**
 * Budgets over real sockets, one gateway (memory state): a hard stop before any upstream call,
 * the per-request cost ceiling (key setting and header), and budget-aware fallback to a cheaper
 * alias once the team has passed its soft limit. The fake answers "ok done" (2 completion
 * tokens) to a "count me" prompt (5 prompt tokens), so each request's cost is known.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, metric, startHarness, type Harness } from './helpers/harness.js';
import { countMe as body, dearAndCheap, okDoneFake, upstreamModels } from './helpers/budget-gateway.js';

const KEY = 'sk-budgets-team-0123456789';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function gateway(tenant: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Harness> {
  h = await startHarness({
    env: { HOOK_AUTH: 'Bearer hook-s3cr3t' },
    fakes: [okDoneFake],
    config: ([fake]) => ({
      ...dearAndCheap(fake!, { overBudget: true }),
      tenants: { team: { keys: [KEY], models: ['dear', 'cheap'], ...tenant } },
      ...extra,
    }),
  });
  return h;
}

describe('budgets (one gateway, real sockets)', () => {
  it('hard limit: refuses with 429 budget_exceeded, x-should-retry false and Retry-After at the reset, nothing sent upstream', async () => {
    const g = await gateway({ budgets: [{ period: 'daily', limitUsd: '0.004' }] });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await chat(g.url, body('dear'), { key: KEY })).status);
    // $0.0016 each, worst case a little more: two fit in $0.004, the third's worst case does not.
    expect(statuses).toEqual([200, 200, 429, 429]);
    const refused = await chat(g.url, body('dear'), { key: KEY });
    expect(refused.json().error).toMatchObject({ type: 'insufficient_quota', code: 'budget_exceeded' });
    expect(refused.json().error.message).toMatch(/^Budget exceeded: the team 'team' daily budget of \$0\.004 has no room .* It resets at \d{4}-\d\d-\d\dT00:00:00\.000Z\.$/);
    expect(refused.headers['x-should-retry']).toBe('false');
    const untilMidnight = (Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000 - Date.now();
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(Math.ceil(untilMidnight / 1000) + 1);
    expect(upstreamModels(g)).toEqual(['up-dear', 'up-dear']);
  });

  it('cost ceiling: the lower of the tenant setting and the header wins; a request no target fits is a 400 that says why', async () => {
    const g = await gateway({ maxCostPerRequestUsd: '0.01' });
    expect((await chat(g.url, body('dear'), { key: KEY })).status).toBe(200);
    const low = await chat(g.url, body('dear'), { key: KEY, headers: { 'x-gateway-max-cost-usd': '0.001' } });
    expect(low.status).toBe(400);
    expect(low.json().error.code).toBe('cost_ceiling_exceeded');
    expect(low.json().error.message).toMatch(/could cost up to \$0\.00\d+ on the cheapest target of 'dear' .* more than the ceiling of \$0\.001\./);
    // The header cannot raise the key's ceiling.
    const high = await chat(g.url, body('dear', { max_tokens: 100_000 }), { key: KEY, headers: { 'x-gateway-max-cost-usd': '1000' } });
    expect(high.status).toBe(400);
    expect(high.json().error.message).toContain('more than the ceiling of $0.01.');
    const bad = await chat(g.url, body('dear'), { key: KEY, headers: { 'x-gateway-max-cost-usd': 'lots' } });
    expect(bad.status).toBe(400);
    expect(bad.json().error.param).toBe('x-gateway-max-cost-usd');
    expect(upstreamModels(g)).toEqual(['up-dear']);
  });

  it('budget-aware fallback: past the team soft limit the cheaper alias serves, and says so', async () => {
    const g = await gateway({ budgets: [{ period: 'monthly', softLimitUsd: '0.003', limitUsd: '1' }] });
    const first = await chat(g.url, body('dear'), { key: KEY });
    const second = await chat(g.url, body('dear'), { key: KEY });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.headers['x-gateway-over-budget']).toBeUndefined();
    // $0.0032 spent ≥ $0.003: settles run as the requests end, give the second one a moment.
    await new Promise((r) => setTimeout(r, 50));
    const third = await chat(g.url, body('dear'), { key: KEY });
    expect(third.status).toBe(200);
    expect(third.headers['x-gateway-over-budget']).toBe('dear -> cheap');
    expect(third.headers['x-gateway-model']).toBe('cheap');
    expect(upstreamModels(g)).toEqual(['up-dear', 'up-dear', 'up-cheap']);
  });

  it('budget-aware fallback needs the key to be allowed the cheaper alias', async () => {
    const g = await gateway({ models: ['dear'], budgets: [{ period: 'monthly', softLimitUsd: '0.001' }] });
    await chat(g.url, body('dear'), { key: KEY });
    await new Promise((r) => setTimeout(r, 50));
    const next = await chat(g.url, body('dear'), { key: KEY });
    expect(next.status).toBe(200);
    expect(next.headers['x-gateway-over-budget']).toBeUndefined();
    expect(upstreamModels(g)).toEqual(['up-dear', 'up-dear']);
  });

  it('soft limit: the settle that crosses it sends one webhook POST with the budget and exact amounts; later requests send none', async () => {
    const received: Array<{ headers: IncomingHttpHeaders; body: Record<string, unknown> }> = [];
    const receiver = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8').on('data', (c: string) => (text += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: JSON.parse(text) as Record<string, unknown> });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const port = (receiver.address() as { port: number }).port;
      const g = await gateway(
        { budgets: [{ period: 'weekly', softLimitUsd: '0.003', limitUsd: '1' }] },
        { budgets: { webhook: { url: `http://127.0.0.1:${port}/hook`, headers: { authorization: '${env:HOOK_AUTH}' }, timeoutMs: 2_000 } } },
      );
      for (let i = 0; i < 4; i++) {
        expect((await chat(g.url, body('cheap'), { key: KEY })).status).toBe(200);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(received).toHaveLength(0); // 4 × $0.000009: far below the soft limit
      for (let i = 0; i < 3; i++) {
        await chat(g.url, body('dear'), { key: KEY });
        await new Promise((r) => setTimeout(r, 20));
      }
      const deadline = Date.now() + 5_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(received).toHaveLength(1);
      const [hook] = received;
      expect(hook?.headers['authorization']).toBe('Bearer hook-s3cr3t');
      // Spend when crossed: 4 × $0.000009 + 2 × $0.0016 = $0.003236.
      expect(hook?.body).toMatchObject({ type: 'budget.soft_limit_crossed', team: 'team', scope: 'team:team', scope_type: 'team', period: 'weekly', spent_usd: '0.003236', soft_limit_usd: '0.003', limit_usd: '1.00' });
      expect(await metric(g.url, 'gateway_budget_soft_limit_crossed_total', { scope_type: 'team' })).toBe(1);
      expect(await metric(g.url, 'gateway_budget_webhook_deliveries_total', { result: 'delivered' })).toBe(1);
    } finally {
      receiver.closeAllConnections();
      await new Promise((r) => receiver.close(r));
    }
  });
});
