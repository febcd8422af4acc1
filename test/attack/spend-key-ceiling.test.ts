/**
 * Attack on the per-request cost ceiling (issue 12): an operator caps a config team at
 * `maxCostPerRequestUsd`, and anyone with `key.write` on that team (its `team_admin`) creates a
 * key through the admin API with a larger `maxCostPerRequestUsd`. The key's ceiling replaced the
 * team's (authenticator.ts: `key ?? team`), so the team's own admin lifted the operator's cap.
 * Like key budgets ("a key budget can only narrow what its team allows"), a key's ceiling must
 * only lower its team's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startAdminHarness } from '../helpers/admin.js';
import { chat, chatBody, type Harness } from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startAdminHarness(['m'], {
    // $1/M input, $2/M output: a request's worst case is far above $0.000001.
    models: { m: { targets: [{ deployment: 'd', model: 'm', price: { input: 1, output: 2 } }] } },
    tenants: { capped: { keys: ['sk-attack-capped-config-key-0123'], models: ['m'], maxCostPerRequestUsd: '0.000001' } },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('attack: a key cost ceiling above its team ceiling', () => {
  // Failed before the fix: the key's $1,000 ceiling replaced the team's $0.000001 and the request was served.
  it('cannot raise what the team allows', async () => {
    expect((await chat(h.url, chatBody('m', { max_tokens: 5 }), { key: 'sk-attack-capped-config-key-0123' })).json().error?.code).toBe('cost_ceiling_exceeded');
    const key = await admin(h.url, 'POST', '/keys', { team: 'capped', maxCostPerRequestUsd: 1000 });
    expect(key.status).toBe(201);
    // Wait until the snapshot knows the key (401 until then), then its answer must be the team's ceiling.
    const deadline = Date.now() + 5_000;
    let res = await chat(h.url, chatBody('m', { max_tokens: 5 }), { key: key.body.key });
    while (res.status === 401 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      res = await chat(h.url, chatBody('m', { max_tokens: 5 }), { key: key.body.key });
    }
    expect(res.json().error?.code).toBe('cost_ceiling_exceeded');
    expect(res.status).toBe(400);
    expect(h.fakes[0]!.stats.requests).toBe(0);
  }, 30_000);
});
