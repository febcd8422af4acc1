/**
 * What the tests of a traced child gateway share: the three processes they start (closed after
 * all tests of the file, whichever were started) and a chat request on a connection of its own.
 */
import { request } from 'node:http';
import { afterAll } from 'vitest';
import type { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import type { ChildGateway } from './child-gateway.js';
import { KEY } from './harness.js';
import type { OtlpReceiver } from './otlp-receiver.js';

export interface TracedRun {
  fake?: FakeUpstream;
  child?: ChildGateway;
  rcv?: OtlpReceiver;
}

/** A holder for the file's processes, closed by an afterAll it registers. */
export function tracedRun(): TracedRun {
  const run: TracedRun = {};
  afterAll(async () => {
    await run.child?.cleanup();
    await run.fake?.close();
    await run.rcv?.close();
  });
  return run;
}

/**
 * One chat request (model 'm') on a connection of its own (agent: false), so that the primary of
 * `--workers` hands it to any worker and no kept-alive socket outlives it; resolves to the status.
 */
export function chatOnNewConnection(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    const req = request(`${url}/v1/chat/completions`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}
