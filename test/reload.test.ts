/**
 * D-03: hot reload under steady load. In process through Gateway.reload / reloadFromFile, and
 * through the CLI (SIGHUP and --watch-config) in a child process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { startChildGateway, type ChildGateway } from './helpers/child-gateway.js';
import { chat, chatBody, deploymentFor, harnessConfig, KEY, metric, startHarness, type Harness, type HttpResult } from './helpers/harness.js';

let harness: Harness | undefined;
let child: ChildGateway | undefined;
const fakes: FakeUpstream[] = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await child?.cleanup();
  child = undefined;
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

const until = async (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('hot reload (D-03)', () => {
  it('D-03: add a deployment, remove one, rotate a provider key, reject a bad file: under load, no request fails and the old config keeps serving', async () => {
    const behaviour = { latencyMs: 40, chunks: 5, chunkIntervalMs: 30 };
    const configFor = (fakes: readonly FakeUpstream[], names: readonly string[]) => ({
      deployments: Object.fromEntries(names.map((n) => [n, deploymentFor(fakes['abc'.indexOf(n)] as FakeUpstream, { apiKey: '${env:PROVIDER_KEY}' })])),
      models: { m: { targets: names.map((n) => ({ deployment: n, model: `model-${n}` })) } },
    });
    harness = await startHarness({
      fakes: [{ dialect: 'openai', name: 'a', behaviour }, { dialect: 'openai', name: 'b', behaviour }, { dialect: 'openai', name: 'c', behaviour }],
      config: (f) => configFor(f, ['a', 'b']),
      env: { PROVIDER_KEY: 'sk-provider-old' },
    });
    const [a, b, c] = harness.fakes as [FakeUpstream, FakeUpstream, FakeUpstream];
    const { url, gateway } = harness;

    const results: Promise<HttpResult>[] = [];
    let running = true;
    const loop = async (stream: boolean): Promise<void> => {
      while (running) {
        const r = chat(url, chatBody('m', { stream }));
        results.push(r);
        await r.catch(() => undefined);
      }
    };
    const loops = [0, 1, 2, 3, 4, 5].map((i) => loop(i % 2 === 0));
    const received = () => a.stats.requests + b.stats.requests + c.stats.requests;
    const step = async (n: number) => {
      const at = received();
      await until(`${n} more requests`, () => received() >= at + n);
    };

    await step(15);
    const added = gateway.reload(harnessConfig(configFor(harness.fakes, ['a', 'b', 'c']), { PROVIDER_KEY: 'sk-provider-old' }));
    expect(added).toMatchObject({ ok: true, version: 2, added: ['c'], removed: [], rebuilt: [] });
    await until('c to serve', () => c.stats.requests > 3);

    const removed = gateway.reload(harnessConfig(configFor(harness.fakes, ['b', 'c']), { PROVIDER_KEY: 'sk-provider-old' }));
    expect(removed).toMatchObject({ ok: true, version: 3, added: [], removed: ['a'], rebuilt: [] });
    // Requests that started on the old config may still use `a`; once the last has ended its
    // pool is closed, and from then on `a` gets nothing.
    await until("a's connections to close", () => a.openConnections === 0);
    await step(15);
    const aTotal = a.stats.requests;
    expect(a.stats.requests).toBe(a.stats.completed);
    await step(15);
    expect(a.stats.requests).toBe(aTotal);
    expect(a.openConnections).toBe(0);

    const rotated = gateway.reload(harnessConfig(configFor(harness.fakes, ['b', 'c']), { PROVIDER_KEY: 'sk-provider-new' }));
    expect(rotated).toMatchObject({ ok: true, version: 4, added: [], removed: [], rebuilt: ['b', 'c'] });
    const [bStart, cStart] = [b.received.length, c.received.length];
    await step(15);

    const dir = mkdtempSync(join(tmpdir(), 'llm-gateway-reload-'));
    try {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, JSON.stringify({ deployments: {}, models: { m: { targets: [{ deployment: 'nowhere', model: 'x' }] } }, surprise: true }));
      const rejected = await gateway.reloadFromFile(bad, {});
      expect(rejected.ok).toBe(false);
      expect(rejected.version).toBe(4);
      expect(gateway.configVersion).toBe(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await step(15);
    running = false;
    await Promise.all(loops);

    const all = await Promise.all(results);
    const failed = all.filter((r) => r.status !== 200 || (r.headers['content-type']?.startsWith('text/event-stream') && r.events().at(-1) !== '[DONE]'));
    expect(failed.map((r) => `${r.status} ${r.text.slice(0, 200)}`)).toEqual([]);
    expect(all.length).toBeGreaterThan(60);

    // Key rotation: after the swap (and the ≤ 6 requests then in flight), only the new key is sent.
    const after = [...b.received.slice(bStart + 6), ...c.received.slice(cStart + 6)].map((r) => r.headers.authorization);
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after)).toEqual(new Set(['Bearer sk-provider-new']));

    expect(await metric(url, 'gateway_config_reloads_total', { result: 'success' })).toBe(3);
    expect(await metric(url, 'gateway_config_reloads_total', { result: 'failure' })).toBe(1);
    expect(await metric(url, 'gateway_config_version')).toBe(4);
    // The removed deployment's breaker is gone from the metrics; the others are there.
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).not.toContain('gateway_circuit_breaker_state{deployment="a"}');
    expect(text).toContain('gateway_circuit_breaker_state{deployment="c"} 0');
  }, 30_000);

  it('D-03: an unchanged deployment keeps its breaker state across a reload; a changed one starts closed', async () => {
    harness = await startHarness({
      fakes: [{ dialect: 'openai', name: 'bad' }, { dialect: 'openai', name: 'good' }],
      config: ([bad, good]) => ({
        retry: { maxAttempts: 1 },
        deployments: { bad: deploymentFor(bad as FakeUpstream), good: deploymentFor(good as FakeUpstream) },
        models: { broken: { targets: [{ deployment: 'bad', model: 'x' }] }, fine: { targets: [{ deployment: 'good', model: 'y' }] } },
      }),
    });
    const [bad, good] = harness.fakes as [FakeUpstream, FakeUpstream];
    bad.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    for (let i = 0; i < 3; i++) expect((await chat(harness.url, chatBody('broken'))).status).toBe(502);
    expect(await metric(harness.url, 'gateway_circuit_breaker_state', { deployment: 'bad' })).toBe(1);

    const base = {
      retry: { maxAttempts: 1 },
      deployments: { bad: deploymentFor(bad), good: deploymentFor(good) },
      models: { broken: { targets: [{ deployment: 'bad', model: 'x' }] }, fine: { targets: [{ deployment: 'good', model: 'y' }] }, extra: { targets: [{ deployment: 'good', model: 'z' }] } },
    };
    expect(harness.gateway.reload(harnessConfig(base))).toMatchObject({ ok: true, rebuilt: [] });
    // Still open: answered at once without calling the upstream.
    const before = bad.stats.requests;
    expect((await chat(harness.url, chatBody('broken'))).json().error.code).toBe('no_available_deployment');
    expect(bad.stats.requests).toBe(before);
    expect((await chat(harness.url, chatBody('extra'))).status).toBe(200);

    // Changing the deployment compiles it afresh: a new, closed breaker.
    const changed = { ...base, deployments: { ...base.deployments, bad: deploymentFor(bad, { maxConnections: 8 }) } };
    expect(harness.gateway.reload(harnessConfig(changed))).toMatchObject({ ok: true, rebuilt: ['bad'] });
    expect(await metric(harness.url, 'gateway_circuit_breaker_state', { deployment: 'bad' })).toBe(0);
    expect((await chat(harness.url, chatBody('broken'))).status).toBe(200);
  });

  it('D-03: the CLI reloads on SIGHUP and on file change (--watch-config); a bad file is rejected with its errors logged and the old config serves on', async () => {
    fakes.push(await FakeUpstream.start({ dialect: 'openai' }));
    const fake = fakes[0] as FakeUpstream;
    const config = (models: Record<string, unknown>) => ({
      server: { host: '127.0.0.1', port: 0 },
      logging: { level: 'info', format: 'json' },
      deployments: { f: { provider: 'openai', baseUrl: fake.baseUrl } },
      models,
      tenants: { main: { keys: [KEY] } },
    });
    child = startChildGateway({ config: config({ one: { targets: [{ deployment: 'f', model: 'm1' }] } }), args: ['--watch-config'] });
    const url = String((await child.waitForLog((l) => l.msg === 'llm-gateway listening', 15_000)).url);
    expect((await chat(url, chatBody('one'))).status).toBe(200);

    child.writeConfig({ ...config({ one: { targets: [{ deployment: 'f', model: 'm1', weight: -1 }] } }), surprise: 1 });
    const rejected = await child.waitForLog((l) => l.msg === 'config reload rejected; the previous config keeps serving', 10_000);
    expect(JSON.stringify(rejected.issues)).toContain('surprise');
    expect(JSON.stringify(rejected.issues)).toContain('models.one.targets[0].weight');
    expect((await chat(url, chatBody('one'))).status).toBe(200);

    child.writeConfig(config({ one: { targets: [{ deployment: 'f', model: 'm1' }] }, two: { targets: [{ deployment: 'f', model: 'm2' }] } }));
    await child.waitForLog((l) => l.msg === 'config reloaded' && l.configVersion === 2, 10_000);
    expect((await chat(url, chatBody('two'))).status).toBe(200);

    child.writeConfig(config({ three: { targets: [{ deployment: 'f', model: 'm3' }] } }));
    await child.waitForLog((l) => l.msg === 'config reloaded' && l.configVersion === 3, 10_000);
    child.child.kill('SIGHUP');
    await child.waitForLog((l) => l.msg === 'config reloaded' && l.configVersion === 4, 10_000);
    expect((await chat(url, chatBody('three'))).status).toBe(200);
    expect((await chat(url, chatBody('one'))).status).toBe(404);
    expect(await metric(url, 'gateway_config_reloads_total', { result: 'failure' })).toBe(1);
    expect(await metric(url, 'gateway_config_reloads_total', { result: 'success' })).toBeGreaterThanOrEqual(3);

    child.child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
  }, 40_000);
});
