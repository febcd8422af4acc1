import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The provider folder template (README.md beside this file).
const required = ['adapter.ts', 'request.ts', 'response.ts', 'stream.ts', 'error.ts', 'wire.ts', 'parameters.ts'];
/** Extra capabilities, named the same in every provider that has them. */
const extras = ['embeddings.ts', 'passthrough.ts', 'responses.ts', 'count-tokens.ts'];
const extraFolders = ['fixtures', 'golden'];

/** Everything in one provider folder that does not follow the template. */
function templateProblems(folder: string): string[] {
  const problems: string[] = [];
  const entries = readdirSync(folder, { withFileTypes: true });
  const names = new Set(entries.map((e) => e.name));
  for (const file of required) if (!names.has(file)) problems.push(`missing ${file}`);
  for (const entry of entries) {
    if (entry.isDirectory()) {
      if (!extraFolders.includes(entry.name)) problems.push(`unexpected folder ${entry.name}/`);
      continue;
    }
    if (required.includes(entry.name) || extras.includes(entry.name) || entry.name.endsWith('.test.ts')) continue;
    problems.push(`unexpected file ${entry.name}`);
  }
  // Recorded bodies are third-party files: their licence travels with them.
  if (names.has('fixtures')) {
    for (const file of ['LICENSE', 'README.md']) if (!existsSync(join(folder, 'fixtures', file))) problems.push(`fixtures/ without ${file}`);
  }
  return problems;
}

const providersDir = fileURLToPath(new URL('./', import.meta.url));
const providerFolders = readdirSync(providersDir, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('provider folder template', () => {
  it('finds the provider folders', () => {
    expect(providerFolders).toEqual(['anthropic', 'bedrock', 'gemini', 'ollama', 'openai', 'triton']);
  });

  it.each(providerFolders)('%s follows the template', (name) => {
    expect(templateProblems(join(providersDir, name))).toEqual([]);
  });

  describe('the check itself', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'provider-template-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it('reports missing files, odd names and fixtures without their licence', () => {
      const folder = join(scratch, 'drifted');
      mkdirSync(join(folder, 'fixtures'), { recursive: true });
      mkdirSync(join(folder, '__fixtures__'));
      for (const file of ['adapter.ts', 'stream.ts', 'error.ts', 'parameters.ts', 'wire-types.ts', 'prompt.ts', 'adapter.test.ts']) writeFileSync(join(folder, file), '');
      writeFileSync(join(folder, 'fixtures', 'README.md'), '');
      expect(templateProblems(folder).sort()).toEqual(
        [
          'missing request.ts',
          'missing response.ts',
          'missing wire.ts',
          'unexpected folder __fixtures__/',
          'unexpected file wire-types.ts',
          'unexpected file prompt.ts',
          'fixtures/ without LICENSE',
        ].sort(),
      );
    });
  });
});
