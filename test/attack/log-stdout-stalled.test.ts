/**
 * A log collector that stops reading standard output must not grow the gateway's memory without
 * bound: at most 16 MiB of lines wait, later lines are dropped and counted
 * (gateway_log_lines_dropped_total). A child process logs ~44 MB of JSON lines to a pipe nobody
 * reads and reports its own count and Buffer memory on stderr.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const logger = new URL('../../dist/observability/logger.js', import.meta.url).href;

const script = `
import { createLogger, droppedLogLines } from ${JSON.stringify(logger)};
const log = createLogger({ level: 'info', format: 'json' });
const filler = 'x'.repeat(1000);
for (let i = 0; i < 40000; i++) log.info({ filler, i }, 'line');
setTimeout(() => {
  const m = process.memoryUsage();
  process.stderr.write(JSON.stringify({ dropped: droppedLogLines(), arrayBuffersMb: m.arrayBuffers / 1048576 }) + '\\n');
}, 300);
`;

describe('JSON logs to a standard output nobody reads', () => {
  it('hold at most 16 MiB of lines; the rest are dropped and counted', async () => {
    // stdout is a pipe this test never reads: the kernel takes ~64 KB, the rest waits in the child.
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    let stderr = '';
    const report = await new Promise<{ dropped: number; arrayBuffersMb: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no report in 20 s: ${stderr}`)), 20_000);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (piece: string) => {
        stderr += piece;
        const line = stderr.split('\n').find((l) => l.startsWith('{'));
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as { dropped: number; arrayBuffersMb: number });
        }
      });
    });
    // Its exit flush would wait for the reader for ever: it is stopped instead.
    child.kill('SIGKILL');
    expect(report.dropped).toBeGreaterThan(10_000);
    expect(report.arrayBuffersMb).toBeLessThan(24);
  });
});
