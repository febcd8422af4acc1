import { awsSigV4, type Credentials } from '../upstream/credentials.js';
import type { ResolvedDeployment } from './load.js';

/** How each provider authenticates (docs/providers.md); the deployment's secrets go in here. */
export function credentialsFor(name: string, d: ResolvedDeployment, url: URL): Credentials {
  switch (d.provider) {
    case 'azure':
      return d.apiKey ? { kind: 'header', header: 'api-key', key: d.apiKey } : { kind: 'none' };
    case 'anthropic':
      // 2023-06-01 (the default) authenticates with x-api-key; 2026-10-21 with a Bearer token.
      if (!d.apiKey) return { kind: 'none' };
      return d.apiVersion === '2026-10-21' ? { kind: 'bearer', key: d.apiKey } : { kind: 'header', header: 'x-api-key', key: d.apiKey };
    case 'openai':
    case 'vllm':
    case 'triton':
      return d.apiKey ? { kind: 'bearer', key: d.apiKey } : { kind: 'none' };
    case 'gemini':
      return d.apiKey ? { kind: 'header', header: 'x-goog-api-key', key: d.apiKey } : { kind: 'none' };
    case 'ollama':
      // Ollama has no auth of its own; a key is for a reverse proxy in front of it.
      return d.apiKey ? { kind: 'bearer', key: d.apiKey } : { kind: 'none' };
    case 'bedrock':
      // The signed host is the Host header undici sends: `url.host` keeps a non-default port
      // (a local fake on http://127.0.0.1:PORT) and drops a default one, as HTTP clients do.
      if (!d.aws) throw new Error(`deployments.${name}: provider bedrock needs an aws block`);
      return awsSigV4({ ...d.aws, service: 'bedrock', host: url.host });
    default:
      return unreachable(d.provider, name, url);
  }
}

function unreachable(provider: never, name: string, url: URL): never {
  throw new Error(`deployments.${name}: no credential scheme for provider ${String(provider)} at ${url.host}`);
}
