// The benchmark's fleet: four simulated vLLM servers (src/testing/fake-upstream/vllm-sim, from
// the built dist/) in one child process, on loopback ports. Announces them as one JSON line on
// stdout; answers `{ stats: true }` on its IPC channel with each server's counters; closes them
// on SIGTERM. One process for four servers: the simulators are timer-driven and cheap, and four
// more Node processes would take CPU from the gateway on a 2-core machine.
//
//   node fleet.mjs '<json: [{ name, params }]>'   (params: vllm-sim's SimParams)
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { VllmSim } = await import(pathToFileURL(join(root, 'dist', 'testing', 'fake-upstream', 'vllm-sim', 'server.js')).href);

const specs = JSON.parse(process.argv[2]);
const sims = [];
for (const spec of specs) sims.push({ name: spec.name, sim: await VllmSim.start({ host: '127.0.0.1', port: 0, ...spec.params }) });

process.on('message', (message) => {
  if (message?.stats) process.send({ statsReply: message.stats, stats: Object.fromEntries(sims.map(({ name, sim }) => [name, sim.stats()])) });
});
process.on('SIGTERM', () => {
  void Promise.all(sims.map(({ sim }) => sim.close())).then(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ deployments: sims.map(({ name, sim }) => ({ name, baseUrl: sim.baseUrl, metricsUrl: sim.metricsUrl })) })}\n`);
