import { describe, expect, it } from 'vitest';
import { credentialsFor } from './credentials-for.js';
import { ConfigError, resolveConfig } from './load.js';

const env = { AK: 'AKIDTEST', SK: 'secret-test', TOKEN: 'session-test' };
const aws = { region: 'eu-central-1', accessKeyId: '${env:AK}', secretAccessKey: '${env:SK}' };

function config(deployment: Record<string, unknown>): unknown {
  return { deployments: { br: deployment }, models: { m: { targets: [{ deployment: 'br', model: 'x' }] } } };
}

function issues(deployment: Record<string, unknown>): string[] {
  try {
    resolveConfig(config(deployment), env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('provider bedrock in the config', () => {
  it('signs with SigV4 for service bedrock; the signed host keeps a non-default port and drops a default one', () => {
    for (const [baseUrl, host] of [
      ['http://127.0.0.1:9005', '127.0.0.1:9005'],
      ['https://bedrock-runtime.eu-central-1.amazonaws.com', 'bedrock-runtime.eu-central-1.amazonaws.com'],
      ['https://bedrock-runtime.eu-central-1.amazonaws.com:443', 'bedrock-runtime.eu-central-1.amazonaws.com'],
    ] as const) {
      const c = resolveConfig(config({ provider: 'bedrock', baseUrl, aws: { ...aws, sessionToken: '${env:TOKEN}' } }), env);
      const d = c.deployments.br!;
      const creds = credentialsFor('br', d, new URL(d.baseUrl));
      expect(creds).toMatchObject({ kind: 'aws-sigv4', host });
      expect(d.aws?.sessionToken?.reveal()).toBe('session-test');
    }
  });

  it('needs an aws block, refuses apiKey, and aws is refused on other providers', () => {
    expect(issues({ provider: 'bedrock', baseUrl: 'https://x' })).toEqual(['deployments.br.aws: provider bedrock needs an aws block (region and keys) to sign requests']);
    expect(issues({ provider: 'bedrock', baseUrl: 'https://x', aws, apiKey: '${env:SK}' })).toEqual(['deployments.br.apiKey: provider bedrock signs requests with the aws block; apiKey is not used']);
    expect(issues({ provider: 'openai', baseUrl: 'https://x', aws })).toEqual(['deployments.br.aws: only provider bedrock signs with AWS keys; provider openai does not use them']);
    expect(issues({ provider: 'bedrock', baseUrl: 'https://x', aws: { ...aws, region: 'Frankfurt' } })[0]).toMatch(/^deployments\.br\.aws\.region: must be an AWS region/);
    expect(issues({ provider: 'bedrock', baseUrl: 'https://x', aws: { ...aws, secretAccessKey: 'plain-secret' } })[0]).toMatch(/^deployments\.br\.aws\.secretAccessKey: must be an environment reference/);
    expect(issues({ provider: 'bedrock', baseUrl: 'https://x', aws: { ...aws, secretAccessKey: '${env:UNSET}' } })).toEqual(['deployments.br.aws.secretAccessKey: environment variable UNSET is not set']);
  });
});
