// What importing one module costs, each in a fresh `node --expose-gc` (from the repo root, after
// `npm run build`): the growth of RSS and of used heap across the import, both after full GCs.
//   node bench/micro/import-memory.mjs [SPECIFIER…]
// RSS moves in steps (V8 grows its young generation as modules load), so compare heap for small
// modules and RSS only for large ones. Costs overlap: two packages sharing node:http or a
// dependency cost less together than their sum.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const specifiers = process.argv.length > 2 ? process.argv.slice(2) : [
  'undici', 'zod', 'prom-client', 'pino', 'yaml',
  'pino-pretty', 'ioredis', '@smithy/signature-v4', '@smithy/core/event-streams', 'js-tiktoken/lite',
  './dist/providers/registry.js', './dist/lifecycle/serve-process.js',
];
const script = (spec) => `
gc(); gc();
const a = process.memoryUsage();
await import(${JSON.stringify(spec)});
await new Promise((r) => setTimeout(r, 100));
gc(); gc();
const b = process.memoryUsage();
console.log(JSON.stringify({ rss: b.rss - a.rss, heap: b.heapUsed - a.heapUsed, external: b.external - a.external, total: b.rss }));`;

const mb = (n) => (n / 1024 / 1024).toFixed(1).padStart(6);
console.log(`${'module'.padEnd(32)}   rss +   heap +  extern +  rss total (MB)`);
for (const spec of specifiers) {
  // The exit status is ignored: a CLI entry (dist/main.js) prints its usage and exits 2.
  const { stdout } = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script(spec)], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const r = JSON.parse(stdout.trim().split('\n').at(-1));
  console.log(`${spec.padEnd(32)} ${mb(r.rss)}  ${mb(r.heap)}  ${mb(r.external)}  ${mb(r.total)}`);
}
