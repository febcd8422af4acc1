import type { providerNames } from '../config/schema.js';
import { bedrockAdapter } from './bedrock/adapter.js';
import { anthropicAdapter } from './anthropic/adapter.js';
import { azureAdapter, openAiAdapter } from './openai/adapter.js';
import { geminiAdapter } from './gemini/adapter.js';
import { ollamaAdapter } from './ollama/adapter.js';
import { tritonAdapter } from './triton/adapter.js';
import type { ProviderAdapter } from './types.js';

/** The provider names configuration accepts. */
export type ProviderName = (typeof providerNames)[number];

/** The adapter for a configured provider (vLLM speaks OpenAI's protocol). */
export function adapterFor(provider: ProviderName): ProviderAdapter {
  switch (provider) {
    case 'openai':
    case 'vllm':
      return openAiAdapter;
    case 'azure':
      return azureAdapter;
    case 'triton':
      return tritonAdapter;
    case 'gemini':
      return geminiAdapter;
    case 'ollama':
      return ollamaAdapter;
    case 'bedrock':
      return bedrockAdapter;
    case 'anthropic':
      return anthropicAdapter;
  }
}

/** `gen_ai.provider.name`: the OpenTelemetry GenAI conventions' well-known value, or the engine's name. */
export function genAiProviderName(provider: ProviderName): string {
  switch (provider) {
    case 'openai':
      return 'openai';
    case 'vllm':
      return 'vllm';
    case 'azure':
      return 'azure.ai.openai';
    case 'triton':
      return 'triton';
    case 'gemini':
      return 'gcp.gemini';
    case 'ollama':
      return 'ollama';
    case 'bedrock':
      return 'aws.bedrock';
    case 'anthropic':
      return 'anthropic';
  }
}
