import { describe, expect, it } from 'vitest';
import { catalog, type CatalogPrice, type CatalogVendor } from './catalog-data.js';
import { catalogEntry, catalogPrice, vendorOf } from './catalog.js';
import { priceFromPerMillion } from './price.js';

const openai = 'https://api.openai.com/v1';
const anthropic = 'https://api.anthropic.com';
const gemini = 'https://generativelanguage.googleapis.com/v1beta';
const bedrock = 'https://bedrock-runtime.us-east-1.amazonaws.com';

describe('catalogue lookup', () => {
  it('finds a model by its exact upstream name', () => {
    expect(catalogPrice('openai', openai, 'gpt-4o-mini')).toEqual(priceFromPerMillion({ input: '0.15', cachedInput: '0.075', output: '0.6' }));
    expect(catalogEntry('anthropic', anthropic, 'claude-haiku-4-5')?.contextWindow).toBe(200_000);
  });

  it('finds a dated snapshot only when the entry says it shares the base price', () => {
    expect(catalogPrice('openai', openai, 'gpt-4o-2024-08-06')).toEqual(catalogPrice('openai', openai, 'gpt-4o'));
    expect(catalogPrice('anthropic', anthropic, 'claude-sonnet-4-5-20250929')).toEqual(catalogPrice('anthropic', anthropic, 'claude-sonnet-4-5'));
    // gpt-4o-2024-05-13 is billed differently: not assumed to be gpt-4o.
    expect(catalogPrice('openai', openai, 'gpt-4o-2024-05-13')).toBeUndefined();
    // A snapshot nobody listed, and a suffix that is not a snapshot at all.
    expect(catalogPrice('anthropic', anthropic, 'claude-sonnet-4-5-20991231')).toBeUndefined();
    expect(catalogPrice('openai', openai, 'gpt-4o-mini-tts')).toBeUndefined();
  });

  it("ignores Gemini's models/ prefix", () => {
    expect(catalogPrice('gemini', gemini, 'models/gemini-2.5-flash')).toEqual(catalogPrice('gemini', gemini, 'gemini-2.5-flash'));
    expect(catalogPrice('gemini', gemini, 'gemini-2.5-flash')).toBeDefined();
    expect(catalogPrice('gemini', gemini, 'gemini-2.0-flash-001')).toEqual(catalogPrice('gemini', gemini, 'gemini-2.0-flash'));
  });

  it('prices Bedrock inference profiles: global at list, in-Region and geographic at the regional price', () => {
    const id = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
    const global = catalogEntry('bedrock', bedrock, `global.${id}`)!;
    expect(global.pricePerMillion).toMatchObject({ input: '3', output: '15', cacheWrite: '3.75', cachedInput: '0.3' });
    expect(catalogEntry('bedrock', bedrock, `us.${id}`)!.pricePerMillion).toEqual({ input: '3.3', output: '16.5', cachedInput: '0.33', cacheWrite: '4.125' });
    expect(catalogEntry('bedrock', bedrock, `eu.${id}`)!.price).toEqual(catalogEntry('bedrock', bedrock, id)!.price);
    // Before the 4.5 models a profile costs what the model costs.
    const older = 'anthropic.claude-sonnet-4-20250514-v1:0';
    expect(catalogPrice('bedrock', bedrock, `us.${older}`)).toEqual(catalogPrice('bedrock', bedrock, older));
    expect(catalogPrice('bedrock', bedrock, `apac.amazon.nova-lite-v1:0`)).toEqual(priceFromPerMillion({ input: '0.06', cachedInput: '0.015', output: '0.24' }));
    expect(catalogPrice('bedrock', bedrock, 'xx.amazon.nova-lite-v1:0')).toBeUndefined();
  });

  it('matches Azure on the configured upstream model, whatever the deployment is called', () => {
    expect(catalogPrice('azure', 'https://acme-prod.openai.azure.com/openai', 'gpt-4o')).toEqual(catalogPrice('openai', openai, 'gpt-4o'));
    expect(catalogEntry('azure', 'https://acme.cognitiveservices.azure.com', 'gpt-4.1-mini')?.entry.source).toMatch(/azure\.microsoft\.com/);
  });

  it('recognises OpenAI-compatible vendors by host, and prices DeepSeek', () => {
    expect(vendorOf('openai', 'https://api.deepseek.com/v1')).toBe('deepseek');
    expect(vendorOf('openai', 'https://api.mistral.ai/v1')).toBe('mistral');
    expect(vendorOf('openai', 'https://api.groq.com/openai/v1')).toBe('groq');
    expect(catalogPrice('openai', 'https://api.deepseek.com', 'deepseek-chat')).toEqual(priceFromPerMillion({ input: '0.56', cachedInput: '0.07', output: '1.68' }));
    // DeepSeek's models are not OpenAI's, and OpenAI's are not DeepSeek's.
    expect(catalogPrice('openai', openai, 'deepseek-chat')).toBeUndefined();
    expect(catalogPrice('openai', 'https://api.deepseek.com', 'gpt-4o')).toBeUndefined();
  });

  it('gives self-hosted engines and vendor protocols on other hosts no price', () => {
    expect(catalogPrice('vllm', 'http://10.0.0.5:8000/v1', 'gpt-4o')).toBeUndefined();
    expect(catalogPrice('ollama', 'http://localhost:11434', 'gpt-4o')).toBeUndefined();
    expect(catalogPrice('triton', 'http://triton:8000', 'gpt-4o')).toBeUndefined();
    expect(catalogPrice('openai', 'http://127.0.0.1:9999/v1', 'gpt-4o')).toBeUndefined();
    expect(catalogPrice('openai', 'https://api.openai.com.evil.example/v1', 'gpt-4o')).toBeUndefined();
    expect(catalogPrice('anthropic', 'https://llm-proxy.internal', 'claude-haiku-4-5')).toBeUndefined();
    expect(catalogPrice('azure', 'http://127.0.0.1:9999/openai', 'gpt-4o')).toBeUndefined();
    expect(catalogPrice('bedrock', 'http://127.0.0.1:9999', 'amazon.nova-lite-v1:0')).toBeUndefined();
    expect(catalogPrice('openai', 'not a url', 'gpt-4o')).toBeUndefined();
  });

  it('does not treat inherited object keys as vendor hosts or models', () => {
    expect(vendorOf('openai', 'http://constructor/v1')).toBeUndefined();
    expect(catalogPrice('openai', openai, 'constructor')).toBeUndefined();
    expect(catalogPrice('openai', openai, '__proto__')).toBeUndefined();
  });
});

describe('catalogue data', () => {
  const all = (Object.entries(catalog) as Array<[CatalogVendor, typeof catalog.openai]>).flatMap(([vendor, entries]) => entries.map((e) => ({ vendor, ...e })));
  const sixDecimals = /^(0|[1-9]\d*)(\.\d{1,6})?$/;
  const prices = (p: CatalogPrice): string[] => [p.input, p.output, p.cachedInput, p.cacheWrite, p.reasoning].filter((v): v is string => v !== undefined);

  it('has entries for every priced vendor', () => {
    for (const v of ['openai', 'azure', 'anthropic', 'gemini', 'bedrock', 'deepseek'] as const) expect(catalog[v].length).toBeGreaterThan(0);
  });

  it.each(all.map((e) => [`${e.vendor} ${e.model}`, e] as const))('%s: a vendor source URL, a read date and exact prices', (_name, e) => {
    expect(new URL(e.source).protocol).toBe('https:');
    expect(e.read).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Number.isNaN(Date.parse(`${e.read}T00:00:00Z`))).toBe(false);
    for (const p of [e.price, ...(e.regionalPrice ? [e.regionalPrice] : [])]) {
      for (const v of prices(p)) expect(v).toMatch(sixDecimals);
      expect(() => priceFromPerMillion(p)).not.toThrow();
    }
    if (e.contextWindow !== undefined) expect(Number.isSafeInteger(e.contextWindow) && e.contextWindow > 0).toBe(true);
    for (const s of e.snapshots ?? []) expect(s).toMatch(/^(\d{4}-\d{2}-\d{2}|\d{8}|\d{3})$/);
  });

  it('has no model twice for one vendor', () => {
    for (const entries of Object.values(catalog)) {
      const names = entries.map((e) => e.model);
      expect(new Set(names).size).toBe(names.length);
    }
  });
});
