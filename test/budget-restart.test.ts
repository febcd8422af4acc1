/**
 * Budgets survive a restart on the default setup (memory counters, embedded database): the spend
 * of the current window is read back from the request log at start, so a restarted gateway does
 * not hand a team a fresh budget. Rows of requests before the restart count once: the restarted
 * process's own requests are counted by its counters, not read back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, startHarness, type Harness } from './helpers/harness.js';
import { countMe, okDoneFake, teamWithLoggedSpend } from './helpers/budget-gateway.js';

const KEY = 'sk-budget-restart-0123456789';
// $0.0016 a request.
const body = countMe('dear');

const open: Harness[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function gateway(dataDir: string, budgets: unknown[]): Promise<Harness> {
  const h = await startHarness({ fakes: [okDoneFake], config: ([fake]) => teamWithLoggedSpend(fake!, KEY, dataDir, budgets) });
  open.push(h);
  return h;
}

describe('budgets across a restart (embedded store, memory counters)', () => {
  it('a restarted gateway still counts what the window spent before it: no fresh budget', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'llmgw-budget-restart-'));
    dirs.push(dataDir);
    const budgets = [{ period: 'daily', limitUsd: '0.004' }, { period: 'lifetime', limitUsd: '0.006' }];
    const first = await gateway(dataDir, budgets);
    for (let i = 0; i < 2; i++) expect((await chat(first.url, body, { key: KEY })).status).toBe(200);
    // A graceful stop writes the request log; the spend ($0.0032) is now in the database.
    await first.close();

    const second = await gateway(dataDir, budgets);
    const refused = await chat(second.url, body, { key: KEY });
    expect(refused.status).toBe(429);
    expect(refused.json().error.code).toBe('budget_exceeded');
    expect(second.fakes[0]!.stats.requests).toBe(0);
  });

  it('budgets set at a restart see what their window spent before it, exactly', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'llmgw-budget-restart-'));
    dirs.push(dataDir);
    const first = await gateway(dataDir, [{ period: 'lifetime', limitUsd: '0.004' }]);
    for (let i = 0; i < 2; i++) expect((await chat(first.url, body, { key: KEY })).status).toBe(200);
    await first.close();
    // A daily budget set at the restart: today's $0.0032 counts, so $0.0045 has no room for another.
    const second = await gateway(dataDir, [{ period: 'daily', limitUsd: '0.0045' }]);
    expect((await chat(second.url, body, { key: KEY })).status).toBe(429);
    await second.close();
    // A bigger daily budget has room for exactly one more request after the two before.
    const third = await gateway(dataDir, [{ period: 'daily', limitUsd: '0.0055' }]);
    expect((await chat(third.url, body, { key: KEY })).status).toBe(200);
    expect((await chat(third.url, body, { key: KEY })).status).toBe(429);
  });
});
