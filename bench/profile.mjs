// CPU profile of one gateway's hot path under the benchmark's max-throughput load:
//   node bench/profile.mjs [--target ours|floor|portkey] [--seconds 8] [--warmup-requests 5000] [--stream] [--alloc]
// Writes bench/results/<target>.cpuprofile (open it in Chrome DevTools or speedscope for a flame
// graph) and prints where the self time goes, by function and by package. With --alloc, a
// sampling allocation profile instead (garbage included): <target>.heapprofile and the bytes
// allocated per request, by function and by package.
import { readFileSync, mkdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { firstJsonLine, freePort, probe, runJsonChild, spawnNode, stopAll, waitForHttp } from './lib/processes.mjs';
import { chatBody, chatPath, gatewayConfig, headerSets, streamBody, upstreamKey } from './lib/workload.mjs';
import { summarizeAllocations, summarizeProfile } from './lib/profile-summary.mjs';
import { warmUp } from './lib/warmup.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');
const { values } = parseArgs({ options: { target: { type: 'string', default: 'ours' }, seconds: { type: 'string', default: '8' }, 'warmup-requests': { type: 'string', default: '5000' }, stream: { type: 'boolean', default: false }, alloc: { type: 'boolean', default: false } } });
const profDir = mkdtempSync(join(tmpdir(), 'llm-gateway-prof-'));
// The probe profiles only the measured window (module loading and warm-up excluded).
const prof = ['--import', new URL('./lib/probe.mjs', import.meta.url).href];

try {
  const fake = spawnNode([join(benchDir, 'lib', 'fake-upstream.mjs'), '--ports', '0,0,0'], { cpu: 0 });
  const { ports } = await firstJsonLine(fake);
  let url;
  let child;
  if (values.target === 'ours') {
    const configFile = join(profDir, 'gateway.yaml');
    writeFileSync(configFile, JSON.stringify(gatewayConfig(ports, { maxConnections: 1024 })));
    const port = await freePort();
    child = spawnNode([...prof, join(root, 'dist', 'main.js'), 'serve', '--config', configFile, '--port', String(port)], { cpu: 1, ipc: true, env: { BENCH_UPSTREAM_KEY: upstreamKey } });
    child.stdout.resume();
    url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/health`);
  } else if (values.target === 'floor') {
    child = spawnNode([...prof, join(benchDir, 'lib', 'floor-proxy.mjs'), '--upstream', `http://127.0.0.1:${ports[0]}/v1`], { cpu: 1, ipc: true });
    url = `http://127.0.0.1:${(await firstJsonLine(child)).port}`;
  } else {
    const port = await freePort();
    child = spawnNode([...prof, join(benchDir, 'portkey', 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js'), `--port=${port}`, '--headless'], { cpu: 1, ipc: true, cwd: join(benchDir, 'portkey') });
    child.stdout.resume();
    url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/`);
  }
  const spec = { url, path: chatPath, connections: 50, durationSec: Number(values.seconds), body: values.stream ? streamBody : chatBody, headerSets: headerSets(values.target, ports) };
  // The bench's warm-up (lib/warmup.mjs): profile the optimised code, not the JIT warming up.
  const warm = await warmUp(spec, { minSeconds: 2, minRequests: Number(values['warmup-requests']), capSeconds: 60, cpu: 0 });
  process.stdout.write(`warm-up: ${warm.requests} requests in ${warm.seconds.toFixed(1)} s\n`);
  mkdirSync(join(benchDir, 'results'), { recursive: true });
  const kind = values.alloc ? 'heapprof' : 'cpuprof';
  const out = join(benchDir, 'results', `${values.target}${values.stream ? '-stream' : ''}.${values.alloc ? 'heapprofile' : 'cpuprofile'}`);
  await probe(child, `${kind}-start`);
  const load = await runJsonChild([join(benchDir, 'lib', 'load-max.mjs'), JSON.stringify(spec)], { cpu: 0 });
  await probe(child, `${kind}-stop`, 30_000, { file: out });
  process.stdout.write(`${values.target}: ${Math.round(load.requestsPerSec)} req/s, ${load.total} requests\n`);
  const profile = JSON.parse(readFileSync(out, 'utf8'));
  const summary = values.alloc ? summarizeAllocations(profile, { root, requests: load.total }) : summarizeProfile(profile, { root, requests: load.total });
  process.stdout.write(`${summary}\nwrote ${out}\n`);
} finally {
  await stopAll();
}
