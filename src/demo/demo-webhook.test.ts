import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetHookReceiver, type SoftLimitAlert } from './demo-webhook.js';

const alert = {
  type: 'budget.soft_limit_crossed',
  id: '0f8c6a1e-5d2b-4f7e-9a43-2b1c9d8e7f60',
  occurred_at: '2026-12-05T10:00:00.000Z',
  team: 'team-e',
  scope: 'team:team-e',
  scope_type: 'team',
  period: 'daily',
  window_start: '2026-12-05T00:00:00.000Z',
  window_end: '2026-12-06T00:00:00.000Z',
  spent_usd: '0.00033636',
  soft_limit_usd: '0.0003',
  limit_usd: '0.0005',
};

let receiver: BudgetHookReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function post(url: string, body: string): Promise<number> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, headersTimeout: 5_000, bodyTimeout: 5_000 });
  await res.body.dump();
  return res.statusCode;
}

describe('the demo webhook receiver', () => {
  it('takes an alert once per id (the gateway retries with the same id) and hands it to a waiter', async () => {
    const seen: SoftLimitAlert[] = [];
    receiver = await BudgetHookReceiver.start((a) => seen.push(a));
    expect(receiver.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/budget-alerts$/);
    const waiting = receiver.waitFor('team:team-e', 5_000);
    expect(await post(receiver.url, JSON.stringify(alert))).toBe(204);
    expect(await post(receiver.url, JSON.stringify(alert))).toBe(204);
    expect(await waiting).toMatchObject({ scope: 'team:team-e', spent_usd: '0.00033636' });
    expect(seen).toHaveLength(1);
    // An alert already there is found at once.
    expect(await receiver.waitFor('team:team-e', 1)).toMatchObject({ id: alert.id });
  });

  it('refuses what is not an alert, and bodies past its bound, without handing anything on', async () => {
    const seen: SoftLimitAlert[] = [];
    receiver = await BudgetHookReceiver.start((a) => seen.push(a));
    expect(await post(receiver.url, 'not json')).toBe(400);
    expect(await post(receiver.url, JSON.stringify({ ...alert, type: 'something.else' }))).toBe(400);
    expect(await post(receiver.url.replace('/budget-alerts', '/other'), JSON.stringify(alert))).toBe(404);
    const huge = JSON.stringify({ ...alert, padding: 'x'.repeat(64 * 1024) });
    const status = await post(receiver.url, huge).catch(() => 'reset');
    expect([413, 'reset']).toContain(status);
    expect(seen).toHaveLength(0);
  });

  it('gives up waiting at the deadline', async () => {
    receiver = await BudgetHookReceiver.start(() => undefined);
    const started = performance.now();
    expect(await receiver.waitFor('team:nobody', 50)).toBeUndefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });
});
