/**
 * `serve --workers 2` on the memory backend: budgets live in the primary (over IPC), so the
 * workers count against one budget, as one process would. A budget of $0.01 and requests of
 * $0.0016: with a budget per worker, twice as many would be served.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';

const KEY = 'sk-budget-workers-0123456789';
const COST = 5 * 200_000_000 + 2 * 300_000_000; // pUSD: "count me" → "ok done" at $200/M in, $300/M out
const BUDGET = 10_000_000_000; // $0.01

describe('budgets across the workers of one process group', () => {
  let fake: FakeUpstream;
  let dir: string;
  let group: GatewayProcess;

  beforeAll(async () => {
    fake = await FakeUpstream.start({ dialect: 'openai', behaviour: { reply: 'ok done' } });
    dir = mkdtempSync(join(tmpdir(), 'llm-gateway-budget-workers-'));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        logging: { level: 'info', format: 'json' },
        deployments: { fake: { provider: 'openai', baseUrl: fake.baseUrl } },
        models: { priced: { targets: [{ deployment: 'fake', model: 'up', price: { input: 200, output: 300 } }] } },
        tenants: { team: { keys: [KEY], budgets: [{ period: 'lifetime', limitUsd: '0.01' }] } },
      }),
    );
    group = await startGatewayProcess(config, {}, ['--workers', '2']);
  }, 90_000);

  afterAll(async () => {
    await group?.terminate();
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('40 concurrent requests: the group serves no more than one budget holds', async () => {
    // Fresh connections spread the requests over both workers.
    const agent = new Agent({ connections: 40, pipelining: 0 });
    const body = JSON.stringify({ model: 'priced', max_tokens: 2, messages: [{ role: 'user', content: 'count me' }] });
    try {
      const statuses = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const res = await request(`${group.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body, dispatcher: agent });
          await res.body.text();
          return res.statusCode;
        }),
      );
      const served = statuses.filter((s) => s === 200).length;
      expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
      expect(served).toBeGreaterThan(0);
      expect(served * COST).toBeLessThanOrEqual(BUDGET);
      expect(fake.stats.requests).toBe(served);
    } finally {
      await agent.close();
    }
  }, 60_000);
});
