/**
 * The SLO headers (docs/routing.md): a malformed `x-gateway-slo-ttft-ms` / `x-gateway-slo-tpot-ms`
 * is the client's 400 naming the header, refused before admission and before any upstream call;
 * a valid one is accepted by every strategy (only predicted_latency reads it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('SLO headers', () => {
  it('refuses a malformed value with a 400 naming the header, sending nothing upstream', async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai' }],
      config: (f) => ({ deployments: { a: deploymentFor(f[0]!) }, models: { m: { targets: [{ deployment: 'a', model: 'up' }] } } }),
    });
    for (const [name, value] of [['x-gateway-slo-ttft-ms', 'fast'], ['x-gateway-slo-tpot-ms', '0'], ['x-gateway-slo-ttft-ms', '9999999']] as const) {
      const r = await chat(h.url, chatBody('m'), { headers: { [name]: value } });
      expect(r.status).toBe(400);
      expect(r.json<{ error: { param: string; type: string } }>().error).toMatchObject({ param: name, type: 'invalid_request_error' });
    }
    expect(h.fakes[0]!.stats.requests).toBe(0);
    const ok = await chat(h.url, chatBody('m'), { headers: { 'x-gateway-slo-ttft-ms': '500', 'x-gateway-slo-tpot-ms': '25.5' } });
    expect(ok.status).toBe(200);
  });
});
