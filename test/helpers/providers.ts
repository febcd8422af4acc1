/**
 * One gateway in front of one fake upstream per configured provider, so conformance tests can
 * run the same client code against every provider the gateway speaks today. The alias is always
 * `chat`; the upstream model is `served-model`.
 */
import type { Behaviour } from '../../src/testing/fake-upstream/script.js';
import { startHarness, type Harness } from './harness.js';

/** The providers in docs/providers.md that this suite covers (others add theirs). */
export const PROVIDERS = ['openai', 'vllm', 'azure', 'triton'] as const;
export type Provider = (typeof PROVIDERS)[number];
/** Providers that speak OpenAI's protocol upstream (bodies pass through). */
export const OPENAI_PROTOCOL: readonly Provider[] = ['openai', 'vllm', 'azure'];

export const SERVED_MODEL = 'served-model';

/** The path the fake receives a chat request on, per provider. */
export function upstreamChatPath(provider: Provider, stream = false): string {
  switch (provider) {
    case 'openai':
    case 'vllm':
      return '/v1/chat/completions';
    case 'azure':
      return `/openai/deployments/${SERVED_MODEL}/chat/completions`;
    case 'triton':
      return `/v2/models/${SERVED_MODEL}/${stream ? 'generate_stream' : 'generate'}`;
  }
}

/** A harness whose alias `chat` is served by `provider` (its fake is `h.fakes[0]`). */
export function providerHarness(provider: Provider, behaviour: Partial<Behaviour> = {}, extraConfig: Record<string, unknown> = {}): Promise<Harness> {
  return startHarness({
    fakes: [{ dialect: provider === 'triton' ? 'triton' : 'openai', behaviour }],
    config: ([fake]) => {
      const origin = fake!.baseUrl.replace(/\/v1$/, '');
      const deployment =
        provider === 'azure' ? { provider, baseUrl: `${origin}/openai`, apiVersion: '2024-10-21' } : { provider, baseUrl: fake!.baseUrl };
      return { deployments: { d: deployment }, models: { chat: { targets: [{ deployment: 'd', model: SERVED_MODEL }] } }, ...extraConfig };
    },
  });
}
