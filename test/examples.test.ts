import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';

const EXAMPLES = new URL('../examples/', import.meta.url);
const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();

/** Every `${env:NAME}` the file references, set to a dummy value (a Redis URL for REDIS_URL names). */
function dummyEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    const name = m[1] as string;
    env[name] = name.endsWith('REDIS_URL') ? 'redis://dummy:6379' : `dummy-${name}`;
  }
  return env;
}

describe('examples/*.yaml', () => {
  it('there is at least one example', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s passes loadConfig', async (name) => {
    const path = fileURLToPath(new URL(name, EXAMPLES));
    const env = dummyEnv(readFileSync(path, 'utf8'));
    const config = await loadConfig(path, env);
    expect(Object.keys(config.models).length).toBeGreaterThan(0);
    expect(Object.isFrozen(config)).toBe(true);
  });
});
