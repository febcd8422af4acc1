import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import type { GatewayEvents } from '../observability/events.js';
import { UpstreamPools } from '../upstream/pools.js';
import { catalogPrice } from '../spend/catalog.js';
import { priceFromPerMillion } from '../spend/price.js';
import { compileRoutes } from './compile.js';
import { resolveConfig } from './load.js';

const pools = new UpstreamPools();
afterAll(() => pools.close(0));

function compile(config: unknown) {
  const unpriced: Array<Parameters<GatewayEvents['targetUnpriced']>[0]> = [];
  const events = { targetUnpriced: (e) => unpriced.push(e), breakerTransition: () => undefined } as Partial<GatewayEvents> as GatewayEvents;
  const { models } = compileRoutes(resolveConfig(config, { OPENAI_API_KEY: 'sk-test' }), { clock: systemClock, events, pools });
  return { models, unpriced };
}

describe('target prices at compile', () => {
  const config = {
    deployments: {
      openai: { provider: 'openai', baseUrl: 'https://api.openai.com/v1', apiKey: '${env:OPENAI_API_KEY}' },
      local: { provider: 'vllm', baseUrl: 'http://10.0.0.5:8000/v1' },
    },
    models: {
      chat: {
        targets: [
          { deployment: 'openai', model: 'gpt-4o-mini' },
          { deployment: 'openai', model: 'gpt-4o-mini', price: { input: '0.1', output: 0.2 } },
          { deployment: 'local', model: 'llama' },
          { deployment: 'local', model: 'llama', price: { input: 0, output: 0 } },
        ],
      },
    },
  };

  it('takes the config price over the catalogue, the catalogue otherwise, and none for a self-hosted engine without one', () => {
    const [catalogued, configured, unpriced, free] = compile(config).models.get('chat')!.targets;
    expect(catalogued).toMatchObject({ price: catalogPrice('openai', 'https://api.openai.com/v1', 'gpt-4o-mini'), priceSource: 'catalog' });
    expect(configured).toMatchObject({ price: priceFromPerMillion({ input: '0.1', output: '0.2' }), priceSource: 'config' });
    expect(unpriced).toMatchObject({ price: undefined, priceSource: undefined });
    expect(free).toMatchObject({ price: { input: 0, output: 0 }, priceSource: 'config' });
  });

  it('announces each unpriced target once per compile, naming alias, deployment and upstream model', () => {
    expect(compile(config).unpriced).toEqual([{ alias: 'chat', deployment: 'local', upstreamModel: 'llama' }]);
  });
});
