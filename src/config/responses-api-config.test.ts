import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import type { GatewayEvents } from '../observability/events.js';
import { UpstreamPools } from '../upstream/pools.js';
import { compileRoutes } from './compile.js';
import { ConfigError, resolveConfig } from './load.js';

const pools = new UpstreamPools();
afterAll(() => pools.close(0));
const events = { targetUnpriced: () => undefined, breakerTransition: () => undefined } as Partial<GatewayEvents> as GatewayEvents;

function config(deployment: Record<string, unknown>): unknown {
  return { deployments: { d: deployment }, models: { m: { targets: [{ deployment: 'd', model: 'x' }] } } };
}

/** The compiled target's TargetInfo.responsesApi for one deployment. */
function compiled(deployment: Record<string, unknown>): boolean | undefined {
  const { models } = compileRoutes(resolveConfig(config(deployment), {}), { clock: systemClock, events, pools });
  return models.get('m')!.targets[0]!.targetInfo.responsesApi;
}

function issues(deployment: Record<string, unknown>): string[] {
  try {
    resolveConfig(config(deployment), {});
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('deployments.*.responsesApi', () => {
  it('defaults by provider: OpenAI at api.openai.com and Azure serve it, vLLM and other OpenAI hosts do not', () => {
    expect(compiled({ provider: 'openai', baseUrl: 'https://api.openai.com/v1' })).toBe(true);
    expect(compiled({ provider: 'openai', baseUrl: 'https://API.OpenAI.com/v1' })).toBe(true);
    expect(compiled({ provider: 'azure', baseUrl: 'https://r.openai.azure.com/openai/v1' })).toBe(true);
    expect(compiled({ provider: 'azure', baseUrl: 'https://r.openai.azure.com/openai', apiVersion: '2025-04-01-preview' })).toBe(true);
    expect(compiled({ provider: 'azure', baseUrl: 'https://r.openai.azure.com/openai', apiVersion: '2025-03-01-preview' })).toBe(true);
    expect(compiled({ provider: 'azure', baseUrl: 'https://r.openai.azure.com/openai', apiVersion: 'preview' })).toBe(true);
    // Pinned to a version from before the Responses API: /openai/responses would be a 404 there.
    expect(compiled({ provider: 'azure', baseUrl: 'https://r.openai.azure.com/openai', apiVersion: '2024-10-21' })).toBeUndefined();
    expect(compiled({ provider: 'azure', baseUrl: 'https://r.openai.azure.com/openai', apiVersion: '2025-02-01-preview' })).toBeUndefined();
    expect(compiled({ provider: 'openai', baseUrl: 'http://10.0.0.5:8000/v1' })).toBeUndefined();
    expect(compiled({ provider: 'vllm', baseUrl: 'http://10.0.0.5:8000/v1' })).toBeUndefined();
    expect(compiled({ provider: 'anthropic', baseUrl: 'https://api.anthropic.com' })).toBeUndefined();
  });

  it('an explicit value wins over the default for openai, azure and vllm', () => {
    expect(compiled({ provider: 'openai', baseUrl: 'https://api.openai.com/v1', responsesApi: false })).toBeUndefined();
    expect(compiled({ provider: 'azure', baseUrl: 'https://r.openai.azure.com/openai/v1', responsesApi: false })).toBeUndefined();
    expect(compiled({ provider: 'azure', baseUrl: 'https://r.openai.azure.com/openai', apiVersion: '2024-10-21', responsesApi: true })).toBe(true);
    expect(compiled({ provider: 'openai', baseUrl: 'http://127.0.0.1:9000/v1', responsesApi: true })).toBe(true);
    expect(compiled({ provider: 'vllm', baseUrl: 'http://10.0.0.5:8000/v1', responsesApi: true })).toBe(true);
  });

  it('is a configuration error, naming its path, on a provider that does not speak OpenAI', () => {
    for (const provider of ['anthropic', 'gemini', 'ollama', 'triton']) {
      expect(issues({ provider, baseUrl: 'http://127.0.0.1:1', responsesApi: true })).toEqual([
        `deployments.d.responsesApi: provider ${provider} does not speak OpenAI's Responses API; only openai, azure, vllm deployments can set it`,
      ]);
    }
    expect(issues({ provider: 'gemini', baseUrl: 'http://127.0.0.1:1', responsesApi: false })).toHaveLength(1);
    expect(issues({ provider: 'openai', baseUrl: 'http://127.0.0.1:1', responsesApi: 'yes' })[0]).toMatch(/^deployments\.d\.responsesApi: /);
  });
});
