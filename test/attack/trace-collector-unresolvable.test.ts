/**
 * Attack: a collector endpoint whose host does not resolve (a typo, DNS down). Requests are not
 * affected, the lost spans are counted, and the warning names neither the host nor the credential.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, metric, startHarness, waitUntil, type Harness } from '../helpers/harness.js';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

describe('a collector host that does not resolve', () => {
  it('requests succeed; export_failed counted; the warning names no host and no header value', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString('utf8')), done()) }));
    const h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'ok' } }],
      logger,
      env: { OTLP_AUTH: 'Bearer very-secret-otlp-token' },
      config: ([fake]) => ({
        tracing: { enabled: true, endpoint: 'http://collector-host.invalid:4318/v1/traces', scheduledDelayMs: 20, exportTimeoutMs: 1_000, headers: { authorization: '${env:OTLP_AUTH}' } },
        deployments: { d1: { provider: 'openai', baseUrl: fake!.baseUrl } },
        models: { chat: { targets: [{ deployment: 'd1', model: 'gpt-4o-mini' }] } },
      }),
    });
    open.push(h);
    for (let i = 0; i < 3; i++) expect((await chat(h.url, chatBody('chat'))).status).toBe(200);
    await waitUntil(() => lines.some((l) => l.includes('trace export failed')), 15_000);
    expect(await metric(h.url, 'gateway_trace_spans_dropped_total', { reason: 'export_failed' })).toBeGreaterThan(0);
    const text = lines.join('');
    expect(text).not.toContain('collector-host.invalid');
    expect(text).not.toContain('very-secret-otlp-token');
  }, 30_000);
});
