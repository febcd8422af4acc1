/**
 * `serve --workers 2` with tracing configured by the standard OTEL_* environment variables only:
 * each worker exports its own spans (its own batch queue and exporter), to the same collector.
 */
import { describe, expect, it } from 'vitest';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { startChildGateway } from './helpers/child-gateway.js';
import { KEY, waitUntil } from './helpers/harness.js';
import { startOtlpReceiver } from './helpers/otlp-receiver.js';
import { chatOnNewConnection, tracedRun } from './helpers/traced-child.js';

const run = tracedRun();

describe('tracing with --workers', () => {
  it('every worker exports its own spans; configured from OTEL_* alone', async () => {
    run.fake = await FakeUpstream.start({ dialect: 'openai', behaviour: { reply: 'ok' } });
    run.rcv = await startOtlpReceiver();
    run.child = startChildGateway({
      args: ['--workers', '2'],
      env: {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: run.rcv.url.replace(/\/v1\/traces$/, ''),
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'gw-workers',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
      config: {
        server: { host: '127.0.0.1', port: 0, drainDelayMs: 100, shutdownGraceMs: 5_000 },
        logging: { level: 'info', format: 'json' },
        deployments: { f: { provider: 'openai', baseUrl: run.fake.baseUrl } },
        models: { m: { targets: [{ deployment: 'f', model: 'gpt-x' }] } },
        tenants: { main: { keys: [KEY] } },
      },
    });
    await run.child.waitForLog((l) => l.msg === 'all workers listening', 40_000);
    const url = String((await run.child.waitForLog((l) => l.msg === 'llm-gateway listening', 5_000)).url);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push(await chatOnNewConnection(url));
    expect(statuses.every((s) => s === 200)).toBe(true);
    await waitUntil(() => run.rcv!.spans.filter((s) => s.kind === 2).length >= 20, 15_000);
    const servers = run.rcv.spans.filter((s) => s.kind === 2);
    expect(servers).toHaveLength(20);
    const pids = new Set(servers.map((s) => s.resource['process.pid']));
    expect(pids.size).toBe(2);
    expect(pids.has(run.child.child.pid)).toBe(false);
    expect(servers.every((s) => s.resource['service.name'] === 'gw-workers' && s.resource['deployment.environment.name'] === 'test')).toBe(true);
    // The access log of each request names its trace (workers' lines are batched: wait for them).
    await waitUntil(() => run.child!.logs.filter((l) => l.msg === 'request').length >= 20, 5_000);
    const logged = run.child.logs.filter((l) => l.msg === 'request').map((l) => l.trace_id);
    expect(new Set(logged)).toEqual(new Set(servers.map((s) => s.traceId)));
  }, 90_000);
});
