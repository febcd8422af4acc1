import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from './helpers/harness.js';

// Strategy `cost` over real sockets: three deployments of one alias at different prices.
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function pricedFleet(): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai' }, { dialect: 'openai' }, { dialect: 'openai' }],
    config: ([dear, cheap, small]) => ({
      deployments: { dear: deploymentFor(dear!), cheap: deploymentFor(cheap!), small: deploymentFor(small!) },
      models: {
        m: {
          strategy: 'cost',
          targets: [
            { deployment: 'dear', model: 'big', price: { input: 5, output: 15 } },
            { deployment: 'cheap', model: 'mid', price: { input: 0.5, output: 1.5 } },
            // Cheapest of all, but it holds only 2,000 tokens per request.
            { deployment: 'small', model: 'tiny', price: { input: 0.1, output: 0.1 }, contextWindow: 2_000 },
          ],
        },
      },
    }),
  });
  open.push(h);
  return h;
}

describe('routing strategy cost', () => {
  it('sends each request to the cheapest target that can hold it', async () => {
    const h = await pricedFleet();
    const short = await chat(h.url, chatBody('m', { max_tokens: 100 }));
    expect(short.status).toBe(200);
    expect(short.headers['x-gateway-provider']).toBe('small');
    // 4,000 output tokens do not fit the small one's window: the next cheapest serves.
    const long = await chat(h.url, chatBody('m', { max_tokens: 4_000 }));
    expect(long.status).toBe(200);
    expect(long.headers['x-gateway-provider']).toBe('cheap');
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });

  it('moves to the next cheapest when the cheapest fails, and skips it while its breaker is open', async () => {
    const h = await pricedFleet();
    h.fakes[2]!.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    const first = await chat(h.url, chatBody('m', { max_tokens: 100 }));
    expect(first.status).toBe(200);
    expect(first.headers['x-gateway-provider']).toBe('cheap');
    expect(first.headers['x-gateway-attempts']).toBe('2');
    // Two more failures open the small deployment's breaker (threshold 3 in the harness).
    await chat(h.url, chatBody('m', { max_tokens: 100 }));
    await chat(h.url, chatBody('m', { max_tokens: 100 }));
    const before = h.fakes[2]!.stats.requests;
    const next = await chat(h.url, chatBody('m', { max_tokens: 100 }));
    expect(next.headers['x-gateway-provider']).toBe('cheap');
    expect(h.fakes[2]!.stats.requests).toBe(before);
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });
});
