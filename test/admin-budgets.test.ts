/**
 * Budgets and cost ceilings on store teams and keys (migration 3): set through the admin API,
 * shown back as exact decimal strings, validated like the config file, and enforced on the data
 * plane once the snapshot carries them (embedded database).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startAdminHarness } from './helpers/admin.js';
import { chat, chatBody, type Harness } from './helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  // $1/M input, $2/M output: a short prompt's worst case is well above $0.000001.
  h = await startAdminHarness(['m'], { models: { m: { targets: [{ deployment: 'd', model: 'm', price: { input: 1, output: 2 } }] } } });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

/** Calls until the answer's status is `status` (the snapshot follows a write within moments). */
async function chatUntil(key: string, status: number): Promise<{ status: number; json: () => any }> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const res = await chat(h.url, chatBody('m', { max_tokens: 5 }), { key });
    if (res.status === status || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('admin API: budgets on teams and keys', () => {
  it('stores, shows and enforces team and key budgets and the key cost ceiling', async () => {
    const team = await admin(h.url, 'POST', '/teams', { name: 'spenders', models: ['m'], budgets: [{ period: 'monthly', limitUsd: 5, softLimitUsd: '4' }] });
    expect(team.status).toBe(201);
    expect(team.body.budgets).toEqual([{ period: 'monthly', limit_usd: '5.00', soft_limit_usd: '4.00' }]);

    const key = await admin(h.url, 'POST', '/keys', { team: 'spenders', budgets: [{ period: 'daily', limitUsd: '0.000001' }], maxCostPerRequestUsd: 0.5 });
    expect(key.status).toBe(201);
    expect(key.body.budgets).toEqual([{ period: 'daily', limit_usd: '0.000001', soft_limit_usd: null }]);
    expect(key.body.max_cost_per_request_usd).toBe('0.50');

    // The key's own daily budget is too small for any request: refused, naming the key.
    const refused = await chatUntil(key.body.key, 429);
    expect(refused.status).toBe(429);
    expect(refused.json().error.code).toBe('budget_exceeded');
    expect(refused.json().error.message).toContain(`key ${key.body.id} daily budget of $0.000001`);

    // Removing it lets requests through (the team's $5 has room).
    expect((await admin(h.url, 'PATCH', `/keys/${key.body.id}`, { budgets: null })).status).toBe(200);
    expect((await chatUntil(key.body.key, 200)).status).toBe(200);

    // The key's ceiling applies, and the team's budget does too.
    const ceiling = await admin(h.url, 'PATCH', `/keys/${key.body.id}`, { maxCostPerRequestUsd: '0.000001' });
    expect(ceiling.body.max_cost_per_request_usd).toBe('0.000001');
    expect((await chatUntil(key.body.key, 400)).json().error.code).toBe('cost_ceiling_exceeded');
    await admin(h.url, 'PATCH', `/keys/${key.body.id}`, { maxCostPerRequestUsd: null });
    await admin(h.url, 'PATCH', '/teams/spenders', { budgets: [{ period: 'lifetime', limitUsd: '0.000001' }] });
    const byTeam = await chatUntil(key.body.key, 429);
    expect(byTeam.json().error.message).toContain("team 'spenders' lifetime budget of $0.000001");
  }, 30_000);

  it('refuses budgets the config file would refuse', async () => {
    const cases = [
      [{ period: 'daily' }],
      [{ period: 'daily', limitUsd: 1, softLimitUsd: 2 }],
      [{ period: 'hourly', limitUsd: 1 }],
      [{ period: 'daily', limitUsd: -1 }],
      [{ period: 'daily', limitUsd: '0.0000000000001' }],
      [
        { period: 'daily', limitUsd: 1 },
        { period: 'daily', limitUsd: 2 },
      ],
    ];
    for (const budgets of cases) {
      const res = await admin(h.url, 'POST', '/teams', { name: 'bad', models: ['m'], budgets });
      expect(res.status, JSON.stringify(budgets)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    expect((await admin(h.url, 'POST', '/keys', { team: 'spenders', maxCostPerRequestUsd: 'lots' })).status).toBe(400);
  });
});
