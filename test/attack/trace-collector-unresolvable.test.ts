/**
 * Attack: a collector endpoint whose host does not resolve (a typo, DNS down). Requests are not
 * affected, the lost spans are counted, and the warning names neither the host nor the credential.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, metric, waitUntil, type Harness } from '../helpers/harness.js';
import { keptLogger, startTracedHarness } from '../helpers/traced-harness.js';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

describe('a collector host that does not resolve', () => {
  it('requests succeed; export_failed counted; the warning names no host and no header value', async () => {
    const { logger, lines } = keptLogger();
    const h = await startTracedHarness(
      { endpoint: 'http://collector-host.invalid:4318/v1/traces', exportTimeoutMs: 1_000, headers: { authorization: '${env:OTLP_AUTH}' } },
      { logger, env: { OTLP_AUTH: 'Bearer very-secret-otlp-token' } },
    );
    open.push(h);
    for (let i = 0; i < 3; i++) expect((await chat(h.url, chatBody('chat'))).status).toBe(200);
    await waitUntil(() => lines.some((l) => l.includes('trace export failed')), 15_000);
    expect(await metric(h.url, 'gateway_trace_spans_dropped_total', { reason: 'export_failed' })).toBeGreaterThan(0);
    const text = lines.join('');
    expect(text).not.toContain('collector-host.invalid');
    expect(text).not.toContain('very-secret-otlp-token');
  }, 30_000);
});
