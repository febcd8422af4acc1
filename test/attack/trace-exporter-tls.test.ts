/**
 * The exporter's agents are the gateway's own (their sockets unref'd, otel-tracer.ts): the
 * documented TLS variable OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE must still be honoured (an https
 * collector with a private CA receives spans), read at start.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, startHarness, waitUntil, type Harness } from '../helpers/harness.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE;
});

describe.skipIf(!hasOpenssl() && process.env.CI !== 'true')('exporter TLS', () => {
  it('an https collector whose certificate OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE names gets the spans', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otlp-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    let received = 0;
    const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      req.resume();
      req.on('end', () => {
        received++;
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    const { port } = server.address() as AddressInfo;
    process.env.OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE = join(dir, 'cert.pem');
    const h: Harness = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'ok' } }],
      config: ([fake]) => ({
        tracing: { enabled: true, endpoint: `https://127.0.0.1:${port}/v1/traces`, scheduledDelayMs: 20 },
        deployments: { d1: { provider: 'openai', baseUrl: fake!.baseUrl } },
        models: { chat: { targets: [{ deployment: 'd1', model: 'gpt-4o-mini' }] } },
      }),
    });
    open.unshift(h);
    expect((await chat(h.url, chatBody('chat'))).status).toBe(200);
    await waitUntil(() => received >= 1);
  });
});
