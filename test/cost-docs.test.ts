/**
 * docs/costs.md lists the price catalogue as it is in src/spend/catalog-data.ts: the table is
 * generated from the data and this test fails when the published one differs. Regenerate with
 *
 *   UPDATE_COST_DOCS=1 npx vitest run test/cost-docs.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalog, type CatalogPrice, type CatalogVendor } from '../src/spend/catalog-data.js';

const docsUrl = new URL('../docs/costs.md', import.meta.url);
const start = '<!-- price-catalogue:start -->';
const end = '<!-- price-catalogue:end -->';

const vendorNames: Record<CatalogVendor, string> = {
  openai: 'OpenAI (`openai` at api.openai.com)',
  azure: 'Azure OpenAI (`azure`, Global Standard)',
  anthropic: 'Anthropic (`anthropic` at api.anthropic.com)',
  gemini: 'Google Gemini (`gemini` at generativelanguage.googleapis.com)',
  bedrock: 'AWS Bedrock (`bedrock`)',
  deepseek: 'DeepSeek (`openai` at api.deepseek.com)',
  mistral: 'Mistral (`openai` at api.mistral.ai)',
  groq: 'Groq (`openai` at api.groq.com)',
};

const dollars = (v: string | undefined): string => (v === undefined ? '—' : `$${v}`);
const prices = (p: CatalogPrice): string => [p.input, p.cachedInput, p.cacheWrite, p.output].map(dollars).join(' | ');

function catalogueTable(): string {
  const out: string[] = [''];
  for (const vendor of Object.keys(catalog) as CatalogVendor[]) {
    out.push(`**${vendorNames[vendor]}**`, '');
    const entries = catalog[vendor];
    if (entries.length === 0) {
      out.push('No confirmed prices yet: targets are unpriced unless the config sets `price`.', '');
      continue;
    }
    out.push('| model | input | cached input | cache write | output | context | snapshots | source, read |', '|---|---:|---:|---:|---:|---:|---|---|');
    for (const e of entries) {
      const context = e.contextWindow === undefined ? '' : e.contextWindow.toLocaleString('en-US');
      const snapshots = (e.snapshots ?? []).map((s) => `\`${s}\``).join(', ');
      const regional = e.regionalPrice ? ` (in-Region and geographic profiles: ${prices(e.regionalPrice).replaceAll(' | ', ' / ')})` : '';
      out.push(`| \`${e.model}\`${regional} | ${prices(e.price)} | ${context} | ${snapshots} | [${new URL(e.source).hostname}](${e.source}), ${e.read} |`);
    }
    out.push('');
  }
  out.push('Prices in US dollars per million tokens; — : billed as input.');
  return `${out.join('\n')}\n`;
}

describe('docs/costs.md', () => {
  it('lists the price catalogue exactly as shipped', () => {
    const docs = readFileSync(docsUrl, 'utf8');
    const from = docs.indexOf(start);
    const to = docs.indexOf(end);
    expect(from, 'docs/costs.md has the price-catalogue markers').toBeGreaterThanOrEqual(0);
    const table = catalogueTable();
    if (process.env.UPDATE_COST_DOCS === '1') {
      writeFileSync(docsUrl, `${docs.slice(0, from + start.length)}${table}${docs.slice(to)}`);
      return;
    }
    expect(docs.slice(from + start.length, to), 'out of date: UPDATE_COST_DOCS=1 npx vitest run test/cost-docs.test.ts').toBe(table);
  });
});
