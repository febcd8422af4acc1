/**
 * Redis Cluster. Three cluster nodes of the test's own (no replicas), slots spread over
 * them; the gateway in `mode: cluster` must run every script in one slot (no CROSSSLOT), so
 * request, token and concurrency limits and shared cooldowns work as on one Redis.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, KEY, metric, scrapeMetrics, startHarness, type Harness } from './helpers/harness.js';
import { REDIS_SERVER_BIN, startRedisServer, type OwnRedis } from './helpers/redis.js';

const REDIS_CLI = '/usr/bin/redis-cli';
const canRun = existsSync(REDIS_SERVER_BIN) && existsSync(REDIS_CLI);
if (!canRun) {
  if (process.env.CI === 'true') throw new Error(`CI=true but ${REDIS_SERVER_BIN} or ${REDIS_CLI} is missing`);
  console.warn('[redis cluster tests] skipped: redis-server or redis-cli not found');
}

describe.skipIf(!canRun)('R-06 Redis Cluster', () => {
  const nodes: OwnRedis[] = [];
  let dir: string;
  const harnesses: Harness[] = [];
  let hot: FakeUpstream;
  let spare: FakeUpstream;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-gateway-cluster-'));
    for (let i = 0; i < 3; i++) {
      nodes.push(await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes-{port}.conf'), '--cluster-node-timeout', '2000']));
    }
    const created = spawnSync(REDIS_CLI, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (created.status !== 0) throw new Error(`cluster create failed: ${created.stdout}${created.stderr}`);
    // Every node must see the whole cluster before a gateway uses it: node 0 can say
    // cluster_state:ok while another still answers CLUSTERDOWN, which on a busy machine (the
    // whole suite running) lasted long enough to open the gateway's Redis breaker.
    for (const node of nodes) {
      const probe = new Redis({ host: '127.0.0.1', port: node.port });
      try {
        let ok = false;
        for (let i = 0; i < 200 && !ok; i++) {
          ok = (await probe.cluster('INFO')).includes('cluster_state:ok');
          if (!ok) await new Promise((r) => setTimeout(r, 100));
        }
        if (!ok) throw new Error(`cluster node ${node.port} never reached cluster_state:ok`);
      } finally {
        probe.disconnect();
      }
    }
    hot = await FakeUpstream.start({ dialect: 'openai' });
    spare = await FakeUpstream.start({ dialect: 'openai' });
    for (let i = 0; i < 2; i++) {
      harnesses.push(
        await startHarness({
          config: () => ({
            state: { backend: 'redis', redis: { url: `redis://127.0.0.1:${nodes[0]?.port}`, mode: 'cluster' } },
            deployments: { hot: deploymentFor(hot), spare: deploymentFor(spare) },
            models: { m: { strategy: 'priority', targets: [{ deployment: 'hot', model: 'up', priority: 0 }, { deployment: 'spare', model: 'up', priority: 1 }] } },
            tenants: {
              free: { keys: ['sk-free-0123456789'] },
              main: {
                keys: [KEY],
                concurrency: { maxInFlight: 5 },
                limits: { requests: { capacity: 6, refillPerSecond: 0.001 }, tokens: { capacity: 100_000, refillPerSecond: 1 } },
              },
            },
          }),
        }),
      );
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(harnesses.map((h) => h.close()));
    await hot?.close();
    await spare?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('request and token buckets (one script, two keys) and concurrency slots work across slots with no errors', async () => {
    const [a, b] = harnesses as [Harness, Harness];
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await chat((i % 2 ? a : b).url, chatBody('m'))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    for (const h of harnesses) {
      expect(await scrapeMetrics(h.url).then((t) => t.split('\n').filter((l) => l.startsWith('gateway_state_errors_total')))).toEqual([]);
      expect(await metric(h.url, 'gateway_ratelimit_failopen_total')).toBe(0);
    }
    // The keys of one decision share the hash tag {main|m}, hence one slot.
    const c = new Redis({ host: '127.0.0.1', port: nodes[0]?.port ?? 0 });
    try {
      const slots = await Promise.all(['llmgw:rl:{main|m}|requests', 'llmgw:rl:{main|m}|tokens'].map((k) => c.cluster('KEYSLOT', k)));
      expect(new Set(slots).size).toBe(1);
    } finally {
      c.disconnect();
    }
  });

  it('a provider 429 seen by one replica cools the deployment for the other (pub/sub on a cluster)', async () => {
    const [a, b] = harnesses as [Harness, Harness];
    const key = 'sk-free-0123456789';
    const before = hot.stats.requests;
    hot.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    expect((await chat(a.url, chatBody('m'), { key })).headers['x-gateway-provider']).toBe('spare');
    expect(hot.stats.requests).toBe(before + 1);
    // The cooldown reaches b by pub/sub, a moment later: b may still send to hot until it does
    // (under load, one of the polls below did), never after.
    await expect.poll(async () => (await chat(b.url, chatBody('m'), { key })).headers['x-gateway-provider']).toBe('spare');
    const propagated = hot.stats.requests;
    for (let i = 0; i < 3; i++) expect((await chat(b.url, chatBody('m'), { key })).headers['x-gateway-provider']).toBe('spare');
    expect(hot.stats.requests).toBe(propagated);
  });
});
