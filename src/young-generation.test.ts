import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// V8 flags are per process, and the young generation only ever grows: each case runs in its own
// node, on the built module (the global setup builds dist/).
const moduleUrl = new URL('../dist/young-generation.js', import.meta.url).href;
const MB = 1024 * 1024;

/**
 * Calls `setup` of young-generation.js, then allocates as a busy gateway does (most garbage at
 * once, a share surviving a few scavenges, with event-loop turns between so GC observers run),
 * and answers the largest semi-space seen.
 */
function semiSpaceAfterChurn(setup: string, nodeFlags: string[] = []): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { setImmediate as turn } from 'node:timers/promises';
    const yg = await import(${JSON.stringify(moduleUrl)});
    ${setup}
    const semi = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 2;
    let largest = semi();
    let kept = [];
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 5000; i++) {
        kept.push({ i, text: 'request ' + i + ' of round ' + round });
        if (kept.length > 20000) kept = [];
      }
      await turn();
      largest = Math.max(largest, semi());
    }
    process.stdout.write(String(largest));`;
  return Number(execFileSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('..', import.meta.url)) }));
}

describe('young generation', () => {
  it('held: stays at its initial size (1 MB a semi-space) however many objects survive', () => {
    expect(semiSpaceAfterChurn('yg.holdYoungGeneration();')).toBeLessThanOrEqual(1 * MB);
  });

  it('capped once serving: grows under load to 8 MB a semi-space, not to V8\'s 16 MB', () => {
    const semi = semiSpaceAfterChurn('yg.holdYoungGeneration(); yg.capYoungGeneration();');
    expect(semi).toBe(8 * MB);
  });

  it('left alone when the operator sized it on the command line', () => {
    expect(semiSpaceAfterChurn('yg.holdYoungGeneration(); yg.capYoungGeneration();', ['--max-semi-space-size=2'])).toBe(2 * MB);
  });
});
