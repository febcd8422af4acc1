/**
 * D-01: SIGTERM under load with open streams, against the real CLI in a child process. A
 * simulated load balancer polls /ready and stops sending new requests once it reads 503, as a
 * real one would; every request sent before that must end with a complete answer (no reset).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { startChildGateway, probe, type ChildGateway } from './helpers/child-gateway.js';
import { KEY, sseData } from './helpers/harness.js';

interface Outcome {
  readonly kind: 'json' | 'stream' | 'glacial';
  readonly status?: number;
  readonly text?: string;
  readonly error?: string;
}

let gateway: ChildGateway | undefined;
const fakes: FakeUpstream[] = [];

afterEach(async () => {
  await gateway?.cleanup();
  gateway = undefined;
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

function config(fast: FakeUpstream, glacial: FakeUpstream): unknown {
  return {
    server: { host: '127.0.0.1', port: 0, drainDelayMs: 1_500, shutdownGraceMs: 4_000 },
    logging: { level: 'info', format: 'json' },
    timeouts: { connectMs: 1_000, firstByteMs: 5_000, idleMs: 5_000, totalMs: 30_000 },
    deployments: {
      fast: { provider: 'openai', baseUrl: fast.baseUrl },
      glacial: { provider: 'openai', baseUrl: glacial.baseUrl },
    },
    models: {
      quick: { targets: [{ deployment: 'fast', model: 'gpt-fast' }] },
      endless: { targets: [{ deployment: 'glacial', model: 'gpt-glacial' }] },
    },
    tenants: { main: { keys: [KEY] } },
  };
}

async function send(dispatcher: Agent, url: string, kind: Outcome['kind']): Promise<Outcome> {
  const stream = kind !== 'json';
  try {
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: kind === 'glacial' ? 'endless' : 'quick', stream, messages: [{ role: 'user', content: 'drain me gently' }] }),
    });
    return { kind, status: res.statusCode, text: await res.body.text() };
  } catch (err) {
    return { kind, error: `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}` };
  }
}

describe('graceful drain (D-01)', () => {
  it('D-01: SIGTERM under load: readiness 503 at once, listener stops after the delay, every accepted request completes, streams end with [DONE] or one shutting_down event, exit 0', async () => {
    // Quick answers: 30 ms JSON, streams of 8 chunks 60 ms apart. Glacial streams: 1 chunk/s for 60 s.
    fakes.push(await FakeUpstream.start({ dialect: 'openai', behaviour: { latencyMs: 30, chunks: 8, chunkIntervalMs: 60 } }));
    fakes.push(await FakeUpstream.start({ dialect: 'openai', behaviour: { chunks: 60, chunkIntervalMs: 1_000 } }));
    const [fast, glacial] = fakes as [FakeUpstream, FakeUpstream];
    gateway = startChildGateway({ config: config(fast, glacial) });
    const listening = await gateway.waitForLog((l) => l.msg === 'llm-gateway listening', 15_000);
    const url = String(listening.url);

    const dispatcher = new Agent({ connections: 64 });
    const outcomes: Promise<Outcome>[] = [];
    let balancerSendsHere = true;
    const started = { json: 0, stream: 0, glacial: 0 };
    const looper = async (kind: Outcome['kind']): Promise<void> => {
      while (balancerSendsHere) {
        started[kind]++;
        const outcome = send(dispatcher, url, kind);
        outcomes.push(outcome);
        await outcome;
      }
    };
    // 5 glacial streams opened before the signal; they outlast the grace period.
    for (let i = 0; i < 5; i++) outcomes.push(send(dispatcher, url, 'glacial'));
    const loops = [...Array.from({ length: 16 }, () => looper('json')), ...Array.from({ length: 8 }, () => looper('stream'))];
    // Load builds up first (by count, not time: the machine may be slow).
    while (started.json < 48 || started.stream < 16 || glacial.stats.requests < 5) await new Promise((r) => setTimeout(r, 20));

    gateway.child.kill('SIGTERM');
    // The load balancer's health check: the first 503 stops new traffic.
    let ready: Awaited<ReturnType<typeof probe>>;
    do ready = await probe(url, '/ready');
    while ('status' in ready && ready.status === 200);
    balancerSendsHere = false;
    expect(ready).toEqual({ status: 503, body: '{"status":"draining"}' });
    // Readiness failed while the listener still accepts: a new connection is still served. (The
    // delay is generous because closing a listener resets connections still in its accept
    // queue: that is why load balancers must see the failing probe before the delay ends.)
    expect(await probe(url, '/health')).toMatchObject({ status: 200 });

    await Promise.all(loops);
    await gateway.waitForLog((l) => l.msg === 'draining: stop-accepting', 5_000);
    // The glacial streams are still open, but new connections are refused.
    expect(await probe(url, '/health')).toEqual({ error: 'ECONNREFUSED' });

    const exit = await gateway.exited;
    const results = await Promise.all(outcomes);
    await dispatcher.close();

    expect(exit).toEqual({ code: 0, signal: null });
    const failures = results.filter((r) => r.error !== undefined || r.status !== 200);
    expect(failures).toEqual([]);
    const json = results.filter((r) => r.kind === 'json');
    const streams = results.filter((r) => r.kind === 'stream');
    expect(json.length).toBeGreaterThanOrEqual(48);
    expect(streams.length).toBeGreaterThanOrEqual(16);
    for (const r of json) expect(JSON.parse(r.text ?? '').object).toBe('chat.completion');
    // Ordinary streams all finish within the grace period.
    for (const r of streams) expect(sseData(r.text ?? '').at(-1)).toBe('[DONE]');
    // Glacial ones get exactly one in-band shutting_down error at the deadline, no [DONE].
    for (const r of results.filter((x) => x.kind === 'glacial')) {
      const events = sseData(r.text ?? '');
      expect(events).not.toContain('[DONE]');
      expect(events.length).toBeGreaterThan(1);
      expect(JSON.parse(events.at(-1) ?? '{}').error.code).toBe('shutting_down');
      expect(events.filter((e) => e.includes('"error"'))).toHaveLength(1);
    }
    expect(gateway.logs.some((l) => l.msg === 'draining: grace-expired' && l.aborted === 5)).toBe(true);
  }, 30_000);
});
